# S3 stand-in for a dry run of the stack (deploy/docker-compose.dryrun.yml) and the stack test: moto's
# server, which speaks the S3 API the stack uses (buckets, objects, multipart uploads) and keeps them in
# memory. Production uses AWS S3 (terraform/modules/storage). Built from the repository root, pinned by
# requirements.lock:
#   docker build -f deploy/s3-standin.Dockerfile -t alphapulse-s3-standin .   (add --network host where
#   the engine has no bridge, as scripts/container-engine's private dockerd)
FROM python:3.12-slim
COPY requirements.lock /tmp/requirements.lock
RUN pip install --quiet --no-cache-dir --disable-pip-version-check -c /tmp/requirements.lock "moto[server]" \
    && rm /tmp/requirements.lock
USER 10001:10001
EXPOSE 5000
CMD ["moto_server", "--host", "0.0.0.0", "--port", "5000"]
