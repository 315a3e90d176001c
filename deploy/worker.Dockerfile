# Runtime image for the Prefect server, the Prefect worker and the MLflow server.
#
# One image for the three keeps prefect/mlflow versions in lock-step with the project's own pins, and
# the worker needs the project installed anyway (flows import alphapulse). Built from the repository
# root (.github/workflows/release.yml; tests/deploy/test_containers.py builds it the same way):
#   docker build -f deploy/worker.Dockerfile -t ghcr.io/OWNER/alphapulse-runtime:TAG .
# Where the engine has no bridge network (scripts/container-engine's private dockerd) add --network host.
#
# The builder installs `alphapulse[pipeline]` into a venv, pinned by requirements.lock; the runtime stage
# copies only that venv, so no compiler, pip cache or source tree ships. Layers are ordered for the
# cache: the dependencies (the slow part, ~2 GB installed) depend only on pyproject.toml's dependency
# lists and the lock; a change to the sources rebuilds the project's own wheel and the layers after it.
FROM python:3.12-slim-bookworm AS requirements
# The dependency lists of the library core and the pipeline extra, read from pyproject.toml: the next
# stage's install layer is keyed on this file's content, so editing pyproject.toml elsewhere (tool
# settings, markers) keeps the cached dependencies.
WORKDIR /build
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extras = p['optional-dependencies']; \
wanted = p['dependencies'] + [r for r in extras['pipeline'] + extras['serving'] if not r.startswith('alphapulse')]; \
print('\n'.join(sorted(wanted)))" > requirements.in

FROM python:3.12-slim-bookworm AS builder

# Bytecode compiled at build time: the read-only runtime writes none, so without it every flow run's
# process would compile its imports again (seconds) and print third-party SyntaxWarnings into its logs.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 \
    VIRTUAL_ENV=/opt/venv
WORKDIR /build
COPY requirements.lock ./
COPY --from=requirements /build/requirements.in ./
# uv at the lock's version installs them into the venv in parallel (pip takes several times as long).
RUN python -m venv "$VIRTUAL_ENV" \
    && pip install --quiet "$(grep -E '^uv==' requirements.lock)" \
    && uv pip install --python "$VIRTUAL_ENV/bin/python" -c requirements.lock -r requirements.in
COPY pyproject.toml ./
COPY README.md ./
COPY src ./src
COPY flows ./flows
COPY bentos ./bentos
RUN pip wheel --quiet --no-deps --wheel-dir /build/dist . \
    && uv pip install --python "$VIRTUAL_ENV/bin/python" -c requirements.lock \
       "alphapulse[pipeline] @ file://$(ls /build/dist/alphapulse-*.whl)"

FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    ALPHAPULSE_HOME=/var/lib/alphapulse \
    ALPHAPULSE_WORKDIR=/opt/alphapulse

# libgomp1: OpenMP runtime for xgboost/catboost. No git: prefect.yaml's pull step only sets the working
# directory (the flows come from the installed package), and git with its perl would add ~190 MB.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

# uid 10001 matches `user:` in deploy/docker-compose.yml; it owns every path AlphaPulse writes.
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --create-home --shell /usr/sbin/nologin app \
    && mkdir -p "$ALPHAPULSE_HOME" "$ALPHAPULSE_WORKDIR" \
    && chown app:app "$ALPHAPULSE_HOME" "$ALPHAPULSE_WORKDIR"

COPY --from=builder /opt/venv /opt/venv
# The flow run's working directory (prefect.yaml's pull step): `prefect deploy` reads prefect.yaml from
# here, and the module-path entrypoints (flows.<module>:<flow>) import from the installed package.
COPY --chown=app:app prefect.yaml $ALPHAPULSE_WORKDIR/
COPY --chown=app:app flows $ALPHAPULSE_WORKDIR/flows
WORKDIR $ALPHAPULSE_WORKDIR
# MLflow probes for git to tag runs with a commit; there is none here, so keep its warning out of the logs.
ENV GIT_PYTHON_REFRESH=quiet
USER app
CMD ["alphapulse", "--help"]
