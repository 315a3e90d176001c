# Prometheus, Alertmanager, the PostgreSQL and node exporters of the stack (deploy/docker-compose.yml),
# from Debian's packages: one image, one service per binary. Debian packages build everywhere this
# project builds (no registry image needed), and python (the base) runs the health checks as in the other
# services. The configuration is not in the image: compose mounts deploy/observability/ read-only, so a
# changed rule is a file copy and a reload, as for the Caddyfile. Built from the repository root:
#   docker build -f deploy/observability.Dockerfile -t alphapulse-observability .
FROM python:3.12-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       prometheus prometheus-alertmanager prometheus-postgres-exporter prometheus-node-exporter \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10002 observer \
    && useradd --uid 10002 --gid observer --no-create-home --shell /usr/sbin/nologin observer
USER observer
CMD ["prometheus", "--version"]
