# wrk, for the stack test's throughput figures from inside the stack's edge network (through Caddy and
# straight to the Bento container, the same client on the same network). Test-only: nothing ships it.
# netbase: /etc/services, without which wrk cannot resolve the port of an https:// URL.
FROM python:3.12-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk ca-certificates netbase \
    && rm -rf /var/lib/apt/lists/*
USER 10001:10001
ENTRYPOINT ["wrk"]
