#!/usr/bin/env bash
# Builds the local control plane's binaries from the Go module proxy and caches them outside the clone.
# The cache is keyed by versions, so a machine that built once starts clusters in seconds afterwards.
# Usage: build-toolchain.sh <cache-dir> <kubernetes-version> <etcd-version> <kwok-version>
#        build-toolchain.sh helm <cache-dir> <helm-version>
# Helm has a cache dir of its own, so a new Helm version never rebuilds Kubernetes (and the reverse).
set -euo pipefail

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
step() { printf '[toolchain] %s\n' "$*" >&2; }

command -v go >/dev/null || { echo "Go 1.24+ is required to build the local control plane (apt-get install golang or see go.dev/doc/install)" >&2; exit 3; }

if [ "${1:-}" = helm ]; then
  cache=$2 helm=$3
  mkdir -p "$cache/bin"
  step "helm $helm: go install (1-3 min)"
  # Without these ldflags `helm version` says v3.x and helm assumes Kubernetes 1.20 for templates and lint; the
  # Kubernetes minor is that of the client-go Helm was built with, as Helm's own Makefile derives it.
  gomod=$(go mod download -json "helm.sh/helm/v3@$helm" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  minor=$(sed -n 's/^\s*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod" | head -n 1)
  [ -n "$minor" ] || { echo "cannot read the client-go version from $gomod" >&2; exit 1; }
  ld="-s -w -X helm.sh/helm/v3/internal/version.version=$helm -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ld="$ld -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  tmp="$cache/bin.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  GOBIN="$tmp" go install -trimpath -ldflags="$ld" "helm.sh/helm/v3/cmd/helm@$helm"
  mv "$tmp/helm" "$cache/bin/helm"
  rm -rf "$tmp"
  step "ready: $cache/bin/helm"
  exit 0
fi

cache=$1 k8s=$2 etcd=$3 kwok=$4
bin="$cache/bin"
mkdir -p "$bin"
have() { [ -x "$bin/$1" ]; }

if ! have kwokctl || ! have kwok; then
  step "kwok $kwok: go install (1-3 min)"
  GOBIN="$bin" go install "sigs.k8s.io/kwok/cmd/kwok@$kwok" "sigs.k8s.io/kwok/cmd/kwokctl@$kwok"
fi

if ! have etcd; then
  step "etcd $etcd: building through a wrapper module (2-5 min)"
  work=$(mktemp -d)
  ( cd "$work" && go mod init cairn.local/etcd-build >/dev/null 2>&1 \
    && go get "go.etcd.io/etcd/server/v3@$etcd" \
    && go build -trimpath -ldflags='-s -w' -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3 \
    && mv "$bin/etcd.tmp" "$bin/etcd" )
  rm -rf "$work"
fi

k8s_bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
missing=()
for b in "${k8s_bins[@]}"; do have "$b" || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "kubernetes $k8s: preparing a wrapper module (module downloads take a few minutes)"
  work="$cache/k8s-build"
  mkdir -p "$work"
  cd "$work"
  [ -f go.mod ] || go mod init cairn.local/k8s-build >/dev/null 2>&1
  # k8s.io/kubernetes replaces every staging module with a local path; point each at its published version.
  gomod=$(go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging="v0.${k8s#v1.}"
  grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk '{print $1}' | while read -r mod; do
    go mod edit -replace "$mod=$mod@$staging"
  done
  go mod edit -require "k8s.io/kubernetes@$k8s"
  step "kubernetes $k8s: resolving $(grep -c '=>' go.mod) replaced modules"
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy -e >&2
  minor=${k8s#v1.}; minor=${minor%%.*}
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  i=0
  for b in "${missing[@]}"; do
    i=$((i + 1))
    step "kubernetes $k8s: go build $b ($i/${#missing[@]}, several minutes each on 2 cores)"
    go build -trimpath -ldflags="$ld" -o "$bin/$b.tmp" "k8s.io/kubernetes/cmd/$b"
    mv "$bin/$b.tmp" "$bin/$b"
  done
fi
step "ready: $bin"
