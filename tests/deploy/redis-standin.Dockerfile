# Stand-in for redis:7.2-alpine (deploy/docker-compose.yml's `redis`, the API's rate-limit counts) where
# no registry answers: Debian's redis-server (7.0 in bookworm) behind the contract the stack relies on:
# `redis-server` and `redis-cli` on PATH, port 6379, any uid (compose runs it as 999:1000, read-only, with
# its working directory on a tmpfs). Test-only: production runs the official image (REDIS_IMAGE).
FROM python:3.12-slim
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
    && apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
EXPOSE 6379
CMD ["redis-server"]
