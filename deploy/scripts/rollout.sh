#!/usr/bin/env bash
# Roll the Bento to another image tag, and back if it does not become healthy.
#
#   usage (on the server, as the deploy user):  /opt/alphapulse/scripts/rollout.sh 0.3.1
#   rollback:                                   /opt/alphapulse/scripts/rollout.sh 0.3.0
#
# Only ALPHAPULSE_IMAGE in .env changes; the previous value is kept in .rollout-history so
# `rollout.sh --previous` can go back without remembering the tag.
set -euo pipefail

cd "$(dirname "$0")/.."
env_file=.env
history=.rollout-history

current=$(sed -n "s/^ALPHAPULSE_IMAGE='\{0,1\}\([^']*\)'\{0,1\}$/\1/p" "$env_file")
[ -n "$current" ] || { echo "ALPHAPULSE_IMAGE not found in $env_file" >&2; exit 1; }
repo=${current%:*}

case "${1:-}" in
  "" | -h | --help) echo "usage: $0 <tag> | --previous" >&2; exit 2 ;;
  --previous) target=$(tail -n 1 "$history" 2>/dev/null || true)
              [ -n "$target" ] || { echo "no previous image recorded" >&2; exit 1; } ;;
  *) target="$repo:$1" ;;
esac

set_image() {
  sed -i "s|^ALPHAPULSE_IMAGE=.*|ALPHAPULSE_IMAGE='$1'|" "$env_file"
}

echo "bento: $current -> $target"
set_image "$target"
# --wait blocks until the healthcheck (/readyz) passes or the timeout expires.
if docker compose pull bento && docker compose up -d --wait --wait-timeout 180 bento; then
  echo "$current" >> "$history"
  echo "bento is healthy on $target"
else
  echo "bento did not become healthy on $target; restoring $current" >&2
  set_image "$current"
  docker compose up -d --wait --wait-timeout 180 bento
  exit 1
fi
