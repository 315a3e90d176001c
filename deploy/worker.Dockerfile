# syntax=docker/dockerfile:1
# Runtime image for the Prefect server, the Prefect worker and the MLflow server.
#
# One image for the three keeps prefect/mlflow versions in lock-step with the project's
# own pins, and the worker needs the project installed anyway (flows import alphapulse).
# Built from the repository root by .github/workflows/release.yml:
#   docker build -f deploy/worker.Dockerfile -t ghcr.io/OWNER/alphapulse-runtime:TAG .
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libgomp1: OpenMP runtime for xgboost/catboost; git: Prefect deployments may pull code.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 git \
    && rm -rf /var/lib/apt/lists/*

# uid 10001 matches `user:` in deploy/docker-compose.yml.
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --create-home --shell /usr/sbin/nologin app

WORKDIR /opt/alphapulse
# Same pins as CI and the Bento (requirements.lock), so all three run identical versions.
COPY pyproject.toml README.md requirements.lock ./
COPY src ./src
RUN pip install -c requirements.lock .
# Flow sources for `prefect deploy` entrypoints (process worker runs them from here).
COPY flows ./flows

USER app
