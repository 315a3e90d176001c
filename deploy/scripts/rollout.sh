#!/usr/bin/env bash
# Roll the Bento to another version, or back, through the deployer (blue-green behind Caddy).
#
#   usage (on the server, as the deploy user):  /opt/alphapulse/scripts/rollout.sh v3-fs927fac27fe558dff-20261202t101500
#   rollback to the version before:             /opt/alphapulse/scripts/rollout.sh --previous
#   what is served, what served before:         /opt/alphapulse/scripts/rollout.sh --status
#
# The deployer starts the version beside the serving one, waits for /readyz and a smoke /signal,
# admits it in Caddy, withdraws the old one and stops it; when the new one fails its checks the old one keeps
# serving and this exits non-zero. Nothing here talks to Docker beyond `compose exec`: the
# deployer holds the socket, the token and the state (docs/DEPLOY.md, "Rollouts").
set -euo pipefail

cd "$(dirname "$0")/.."

# Compose v2 (`docker compose`, production) or v1 (`docker-compose`).
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "neither 'docker compose' nor 'docker-compose' is installed" >&2
  exit 1
fi

case "${1:-}" in
  "" | -h | --help) echo "usage: $0 <bento version or tag> | --previous | --status" >&2; exit 2 ;;
  --previous) args=(rollback) ;;
  --status) args=(status) ;;
  *) args=(rollout "$1") ;;
esac

exec "${compose[@]}" exec -T deployer alphapulse deploy "${args[@]}"
