#!/usr/bin/env bash
# Installs krakenops on the local cluster as the README tells a user to: the CRDs with kubectl,
# a namespace that enforces the restricted Pod Security Standard, the live release's credentials
# Secret, then the paper and the live release with helm. Safe to run again (upgrades in place).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
project="$(cd "$here/../.." && pwd)"
dir="${CLUSTER_DIR:-$project/.cluster}"
namespace="${NAMESPACE:-krakenops}"
export KUBECONFIG="$dir/kubeconfig"
bin="$("$here/build.sh")"
export PATH="$bin:$PATH"
cd "$project"

kubectl apply -f crds/
kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace "$namespace" --overwrite \
  pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted >/dev/null
# The live trader's pods only ever run under kwok here, so the key need only look like one.
kubectl -n "$namespace" create secret generic kraken-api \
  --from-literal=api-key="$(head -c 42 /dev/urandom | base64 | tr -d '/+=' | head -c 56)" \
  --from-literal=api-secret="$(head -c 64 /dev/urandom | base64 -w0)" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
helm upgrade --install paper helm/krakenops -f helm/krakenops/values-paper.yaml \
  -n "$namespace" --wait --timeout 3m
helm upgrade --install live helm/krakenops -f helm/krakenops/values-live.yaml \
  -n "$namespace" --wait --timeout 3m
kubectl -n "$namespace" get te,mp,deploy,jobs
