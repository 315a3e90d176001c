#!/bin/sh
# Runs once, on the first start of the postgres container (empty data volume), from
# /docker-entrypoint-initdb.d. One role and one database per consumer, so a leaked
# MLflow password does not expose trading data and vice versa.
#
# Passwords come from the container environment (deploy/.env); psql's :'var' quoting
# keeps them out of the SQL text and safe from quoting mistakes.
set -eu

: "${POSTGRES_APP_PASSWORD:?}" "${PREFECT_DB_PASSWORD:?}" "${MLFLOW_DB_PASSWORD:?}" "${POSTGRES_MONITOR_PASSWORD:?}"

create_db() {
	# $1 = role and database name, $2 = password
	psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
		-v name="$1" -v password="$2" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name') \gexec
SQL
}

create_db alphapulse "$POSTGRES_APP_PASSWORD"
create_db prefect "$PREFECT_DB_PASSWORD"
create_db mlflow "$MLFLOW_DB_PASSWORD"

# The PostgreSQL exporter's login: statistics only (pg_monitor), no table of any consumer.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
	-v password="$POSTGRES_MONITOR_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE monitoring LOGIN PASSWORD %L', :'password') \gexec
GRANT pg_monitor TO monitoring;
SQL
