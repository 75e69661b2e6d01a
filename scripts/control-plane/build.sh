#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager from Go modules (never downloads
# binaries) into a per-version cache folder outside the repository, and prints that folder.
# Reuses the cache when every binary is present. KUBEBUILDER_ASSETS short-circuits the build.
set -euo pipefail

K8S_VERSION="${DCA_K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${DCA_ETCD_VERSION:-v3.6.16}"
BINARIES=(etcd kube-apiserver kube-controller-manager)

log() { printf '[control-plane build] %s\n' "$*" >&2; }

have_all() {
  local dir="$1" b
  for b in "${BINARIES[@]}"; do [ -x "$dir/$b" ] || return 1; done
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if have_all "$KUBEBUILDER_ASSETS"; then
    printf '%s\n' "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS does not hold all of: ${BINARIES[*]}; building instead"
fi

cache_root="${DCA_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/datadog-cluster-agent/control-plane}"
out="$cache_root/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
if have_all "$out"; then
  printf '%s\n' "$out"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed. Install Go >= 1.24 (https://go.dev/doc/install) and put it on PATH,"
  log "or set KUBEBUILDER_ASSETS to a folder holding: ${BINARIES[*]}"
  exit 3
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$cache_root"
# One build at a time per cache: parallel test workers and a person running `up` share it.
exec 9>"$cache_root/.build.lock"
flock 9
if have_all "$out"; then printf '%s\n' "$out"; exit 0; fi

work="$(mktemp -d "$cache_root/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
started=$(date +%s)

# etcd: its module carries replace directives, so `go install` refuses it; a wrapper
# module resolves the published api/client/pkg modules of the same release instead.
log "building etcd $ETCD_VERSION"
mkdir -p "$work/etcd" && (
  cd "$work/etcd"
  go mod init local/etcdbin >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
  go build -trimpath -ldflags "-s -w" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3
)

# Kubernetes: k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces,
# which a consumer ignores; map every staging module to the published v0.<minor>.<patch>.
log "building kube-apiserver and kube-controller-manager $K8S_VERSION"
staging_version="v0.${K8S_VERSION#v1.}"
staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)
mkdir -p "$work/k8s" && (
  cd "$work/k8s"
  {
    echo "module local/k8sbin"
    echo
    echo "go 1.24.0"
    echo
    echo "replace ("
    for m in "${staging[@]}"; do echo "  k8s.io/$m => k8s.io/$m $staging_version"; done
    echo ")"
  } > go.mod
  go get "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  go build -trimpath -ldflags "$ldflags" -o "$work/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
)

rm -rf "$out"
mv "$work/bin" "$out"
log "built in $(( $(date +%s) - started ))s into $out"
printf '%s\n' "$out"
