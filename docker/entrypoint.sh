#!/usr/bin/env bash
# Entrypoint of the Cluster Agent image, doing what the original's does:
# - refuse to start without DD_API_KEY (or a readable DD_API_KEY_FILE);
# - copy every *.yaml / *.yaml.default under /conf.d (the image's defaults, and whatever is mounted
#   there) into /etc/datadog-agent/conf.d, keeping relative folders and skipping the
#   `..`-prefixed timestamp folders of ConfigMap volumes (the original's `cp --parents` of
#   /conf.d/<rel> into /etc/datadog-agent/ lands there too, so a mounted
#   /conf.d/kubernetes_apiserver.d/conf.yaml is read from DD_CONFD_PATH's default). The image
#   ships its defaults in /conf.d rather than in /etc/datadog-agent, which is a volume (an
#   emptyDir in deploy/) that would hide them;
# - exec the command (`datadog-cluster-agent start` by default).
set -euo pipefail

CONF_SRC="${DD_ENTRYPOINT_CONFD_SOURCE:-/conf.d}"
# The original's `cp --parents` destination; files land in its conf.d/ (DD_CONFD_PATH's default).
CONF_DST="${DD_ENTRYPOINT_CONFD_TARGET:-/etc/datadog-agent}"

if [[ -z "${DD_API_KEY:-}" ]]; then
  if [[ -n "${DD_API_KEY_FILE:-}" && -r "${DD_API_KEY_FILE}" ]]; then
    DD_API_KEY="$(tr -d '[:space:]' < "$DD_API_KEY_FILE")"
    export DD_API_KEY
  fi
fi
if [[ -z "${DD_API_KEY:-}" ]]; then
  echo "You must set an DD_API_KEY environment variable to run the Datadog Cluster Agent container" >&2
  exit 1
fi

if [[ -d "$CONF_SRC" ]]; then
  # With a read-only root filesystem the target must be a volume (deploy/: an emptyDir).
  if ! mkdir -p "$CONF_DST/conf.d" 2>/dev/null || [[ ! -w "$CONF_DST/conf.d" ]]; then
    echo "Cannot write to $CONF_DST/conf.d: with a read-only root filesystem, mount a writable volume (an emptyDir) at $CONF_DST" >&2
    exit 1
  fi
  while IFS= read -r -d '' file; do
    rel="${file#"$CONF_SRC"/}"
    mkdir -p "$CONF_DST/conf.d/$(dirname "$rel")"
    cp -f "$file" "$CONF_DST/conf.d/$rel"
  done < <(find -L "$CONF_SRC" -path '*/..*' -prune -o -type f \( -name '*.yaml' -o -name '*.yaml.default' \) -print0)
fi

exec "$@"
