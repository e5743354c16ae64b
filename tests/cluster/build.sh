#!/usr/bin/env bash
# Builds the local control plane's binaries from the Go modules pinned under go/, once per pinned
# version: each lands in a cache folder named after its go.mod's hash, which later runs (and other
# clones on the same machine) reuse. Prints the folder that holds every binary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${KRAKENOPS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/krakenops/cluster}"
bin="$cache/bin"
mkdir -p "$bin"
# One build at a time per cache: clones on the same machine share it.
exec 9>"$cache/.lock"
flock 9

# build NAME LDFLAGS PACKAGE... : go build the packages of go/NAME unless this go.mod was built.
build() {
  local name="$1" ldflags="$2"; shift 2
  local mod="$here/go/$name"
  local key; key="$( (cat "$mod/go.mod" "$mod/go.sum"; echo "$ldflags") | sha256sum | cut -c1-16)"
  local out="$cache/$name-$key"
  if [[ ! -f "$out/.built" ]]; then
    echo "building $name ($*) into $out" >&2
    local start=$SECONDS
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp/" "$@")
    # etcd's main package is its server module's root, which go build names "server".
    if [[ -e "$out.tmp/server" ]]; then mv "$out.tmp/server" "$out.tmp/etcd"; fi
    touch "$out.tmp/.built"
    rm -rf "$out" && mv "$out.tmp" "$out"
    echo "built $name in $((SECONDS - start)) s" >&2
  fi
  local f
  for f in "$out"/*; do ln -sf "$f" "$bin/$(basename "$f")"; done
}

module_version() { (cd "$here/go/$1" && go list -m -f '{{.Version}}' "$2"); }
k8s_version="$(module_version kubernetes k8s.io/kubernetes)"
k8s_minor="$(cut -d. -f2 <<<"$k8s_version")"
# Unstamped, the binaries report v0.0.0-master, which kubectl cannot parse and Helm's kubeVersion
# checks refuse.
stamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build etcd "" go.etcd.io/etcd/server/v3
build kwok "" sigs.k8s.io/kwok/cmd/kwok
helm_version="$(module_version helm helm.sh/helm/v4)"
build helm "-X helm.sh/helm/v4/internal/version.version=$helm_version" helm.sh/helm/v4/cmd/helm
build kubernetes "$stamp" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
echo "$bin"
