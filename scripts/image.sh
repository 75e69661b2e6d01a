#!/usr/bin/env bash
# Builds the repository's Dockerfile without a Docker engine, and runs the built image for real.
#
#   bash scripts/image.sh build [--tag NAME] [--archive FILE] [--ref REF | --worktree]   # the image (default)
#   bash scripts/image.sh check [--tag NAME]                    # the run check (scripts/image/check.ts)
#   bash scripts/image.sh all                                   # build, then check
#   bash scripts/image.sh clean                                 # removes this script's container storage
#
# Daemonless, from Debian's packages (installed when missing; root, as on the project's machines):
# buildah with vfs storage and chroot isolation builds the Dockerfile unchanged; crun runs the
# result for the check. The recipe and its pitfalls: ../shared/docs/image-build.md.
#
# Public base images cannot be pulled here, so the first run makes a local stand-in for the
# Dockerfile's `node:24-bookworm-slim`: a Debian bookworm minbase root filesystem (mmdebstrap,
# with the slim image's dpkg excludes), the Node 24 binary scripts/env.sh installs at
# /usr/local/bin/node, and this machine's npm. Package registries are reached through a
# TLS-inspecting egress on these machines, so the stand-in also carries this machine's CA bundle
# and NODE_EXTRA_CA_CERTS pointing at it, without which `npm ci` fails inside the build
# ("self-signed certificate in certificate chain"). That trust store belongs to the stand-in only:
# the shipped Dockerfile has none, and the run check runs the image without it.
#
# The build context is `git archive` of a commit (HEAD unless --ref), so that the image is that
# commit and nothing uncommitted in the checkout; --worktree builds the working tree instead.
#
# Storage: $DCA_IMAGE_STORAGE (default ~/.cache/datadog-cluster-agent/containers), its own
# graph root, so nothing else's images are touched and `clean` removes it all. vfs copies every
# layer: about 5 GB during a build, 2.4 GB after it (the base and the image).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

cmd="${1:-build}"
[[ $# -gt 0 ]] && shift
tag="localhost/datadog-cluster-agent-ts:latest"
archive=""
ref="HEAD"
worktree=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --archive) archive="$2"; shift 2 ;;
    --ref) ref="$2"; shift 2 ;;
    --worktree) worktree=1; shift ;;
    *) echo "image.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

storage="${DCA_IMAGE_STORAGE:-${XDG_CACHE_HOME:-$HOME/.cache}/datadog-cluster-agent/containers}"
export BUILDAH_ISOLATION=chroot
B=(buildah --root "$storage/root" --runroot "$storage/run" --storage-driver vfs)
base_ref="docker.io/library/node:24-bookworm-slim"
node_version="$(node --version)"

say() { printf '[image] %s\n' "$*" >&2; }

need() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  say "installing ${missing[*]} (Debian packages)"
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "image.sh: ${missing[*]} missing; install them (apt-get install ${missing[*]}) or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The stand-in for node:24-bookworm-slim, made once per Node version.
make_base() {
  local have
  have="$("${B[@]}" inspect --type image --format '{{index .OCIv1.Config.Labels "dca.standin.node"}}' "$base_ref" 2>/dev/null || true)"
  if [[ "$have" == "$node_version" ]]; then
    say "stand-in base $base_ref (Node $node_version) already built"
    return
  fi
  [[ "${node_version%%.*}" == "v24" ]] || { echo "image.sh: the base needs Node 24, scripts/env.sh gave $node_version" >&2; exit 1; }
  local started work ctr mnt npm_dir
  started=$(date +%s)
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  say "stand-in base: mmdebstrap bookworm (minbase, slim excludes)"
  # debian:bookworm-slim's excludes (debuerreotype --slimify), keeping the copyright files.
  mmdebstrap --quiet --variant=minbase \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/usr/share/linda/*' \
    bookworm "$work/rootfs.tar"
  ctr="$("${B[@]}" from --pull=never scratch)"
  mnt="$("${B[@]}" mount "$ctr")"
  tar -C "$mnt" -xf "$work/rootfs.tar"
  # Node where the official image has it, and npm (this machine's, run by that node) beside it.
  install -D -m 0755 "$(command -v node)" "$mnt/usr/local/bin/node"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  mkdir -p "$mnt/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$mnt/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  # The stand-in only: this machine's trust store, for the TLS-inspecting egress (see the top).
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$mnt/usr/local/share/dca-standin/ca-certificates.crt"
  "${B[@]}" umount "$ctr" >/dev/null
  "${B[@]}" config \
    --env NODE_VERSION="${node_version#v}" \
    --env NODE_EXTRA_CA_CERTS=/usr/local/share/dca-standin/ca-certificates.crt \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd node \
    --label dca.standin.node="$node_version" \
    "$ctr"
  "${B[@]}" commit --quiet --rm "$ctr" "$base_ref" >/dev/null
  say "stand-in base built in $(( $(date +%s) - started )) s"
}

build() {
  need buildah mmdebstrap
  mkdir -p "$storage"
  make_base
  local started commit context
  commit="$(git rev-parse "$ref^{commit}")"
  if [[ $worktree -eq 1 ]]; then
    context="."
    say "buildah build -t $tag (the working tree; GIT_COMMIT=$commit)"
  else
    context="$(mktemp -d)"
    trap 'rm -rf "$context"' RETURN
    git archive "$commit" | tar -x -C "$context"
    say "buildah build -t $tag (git archive $commit)"
  fi
  started=$(date +%s)
  "${B[@]}" build --isolation chroot --pull=never --layers \
    --build-arg GIT_COMMIT="$commit" -t "$tag" -f "$context/Dockerfile" "$context" >&2
  local took=$(( $(date +%s) - started ))
  # vfs copies every layer: the cached intermediate images of one build take about 5 GB. Keep
  # only the tagged images (the stand-in base and the image); the next build starts cold.
  "${B[@]}" rmi --prune >/dev/null 2>&1 || true
  local size
  size="$("${B[@]}" images --format '{{.Size}}' "$tag" | head -1)"
  say "built $tag in $took s, size $size"
  if [[ -n "$archive" ]]; then
    rm -f "$archive"
    "${B[@]}" push --quiet "$tag" "docker-archive:$archive:${tag#localhost/}"
    say "wrote $archive (docker load -i / kind load image-archive)"
  fi
}

check() {
  need buildah crun
  DCA_IMAGE_TAG="$tag" DCA_IMAGE_STORAGE="$storage" node scripts/image/check.ts
}

case "$cmd" in
  build) build ;;
  check) check ;;
  all) build; check ;;
  clean)
    [[ -d "$storage" ]] && { "${B[@]}" rm --all >/dev/null 2>&1 || true; "${B[@]}" rmi --all --force >/dev/null 2>&1 || true; rm -rf "$storage"; }
    say "removed $storage" ;;
  *) echo "usage: scripts/image.sh build|check|all|clean [--tag NAME] [--archive FILE]" >&2; exit 2 ;;
esac
