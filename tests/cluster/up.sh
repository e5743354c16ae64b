#!/usr/bin/env bash
# Starts a Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok with one fake node, and the pod runner that runs Job pods' commands here.
# A second run finds the running cluster and leaves it be. Everything lives under $CLUSTER_DIR;
# `down.sh` stops it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
project="$(cd "$here/../.." && pwd)"
dir="${CLUSTER_DIR:-$project/.cluster}"
python="${PYTHON:-$project/.venv/bin/python}"
mkdir -p "$dir/logs" "$dir/run"
dir="$(cd "$dir" && pwd)"

# Fixed loopback ports, away from the usual ones, so the kubeconfig never changes; a second
# cluster (the benchmark's) takes another CLUSTER_PORT_BASE.
base="${CLUSTER_PORT_BASE:-26400}"
ETCD_PORT=$((base)) ETCD_PEER_PORT=$((base + 1)) APISERVER_PORT=$((base + 2))
CONTROLLER_MANAGER_PORT=$((base + 3)) SCHEDULER_PORT=$((base + 4)) KWOK_PORT=$((base + 5))
server="https://127.0.0.1:$APISERVER_PORT"
kubeconfig="$dir/kubeconfig"

# Alive, and ours: a pid file that outlived a reboot may name another process.
alive() {
  local pid
  pid="$(cat "$dir/run/$1.pid" 2>/dev/null)" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$1\|$dir"
}
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok pod-runner)

running=0
for c in "${COMPONENTS[@]}"; do alive "$c" && running=$((running + 1)); done
if ((running == ${#COMPONENTS[@]})); then
  echo "cluster already running: KUBECONFIG=$kubeconfig"
  exit 0
fi
if ((running > 0)); then
  echo "a partial cluster is running; stopping it first" >&2
  "$here/down.sh"
fi

# The pod runner binds each Job pod's volumes at their mountPaths: that takes root and unshare.
if [[ "$(id -u)" != 0 ]] || ! command -v unshare >/dev/null; then
  echo "cluster-up: needs root and unshare (util-linux) for the pod runner that runs Job pods" >&2
  exit 1
fi
for port in $ETCD_PORT $ETCD_PEER_PORT $APISERVER_PORT $CONTROLLER_MANAGER_PORT $SCHEDULER_PORT $KWOK_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "cluster-up: port $port is taken; another cluster may hold it (set CLUSTER_PORT_BASE)" >&2
    exit 1
  fi
done
# Whatever was started is stopped again if a later part fails.
trap 'status=$?; if ((status != 0)); then "$here/down.sh" >/dev/null; fi' EXIT

start=$SECONDS
bin="$("$here/build.sh")"
export PATH="$bin:$PATH"
built=$((SECONDS - start))

# start NAME COMMAND...: run in a session of its own, so that down.sh can end it and its children.
start() {
  local name="$1"; shift
  setsid "$@" >"$dir/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$dir/run/$name.pid"
}

# wait_for WHAT SECONDS COMMAND...: poll until COMMAND succeeds; name the log on failure.
wait_for() {
  local what="$1" within="$2"; shift 2
  local deadline=$((SECONDS + within))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      echo "$what not ready within ${within}s; see $dir/logs/$what.log:" >&2
      tail -n 20 "$dir/logs/$what.log" >&2 || true
      exit 1
    fi
    # The process itself, not `alive`: a child just forked may not have exec'd its command yet.
    kill -0 "$(cat "$dir/run/$what.pid")" 2>/dev/null || { echo "$what exited; see $dir/logs/$what.log:" >&2; tail -n 20 "$dir/logs/$what.log" >&2; exit 1; }
    sleep 0.5
  done
}

pki="$dir/pki"
if [[ ! -f "$pki/admin.crt" ]]; then
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=krakenops-local-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n' >san.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key \
      -out apiserver.csr 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile san.ext -out apiserver.crt 2>/dev/null
    # The cluster's administrator: what kubectl, helm and the control plane's own parts log in as.
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=admin" -keyout admin.key \
      -out admin.csr 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -out admin.crt 2>/dev/null
    # Signs the service accounts' tokens (the TokenRequest API and `kubectl create token`).
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
fi

kubectl config --kubeconfig="$kubeconfig" set-cluster krakenops-local --server="$server" \
  --certificate-authority="$pki/ca.crt" --embed-certs >/dev/null
kubectl config --kubeconfig="$kubeconfig" set-credentials admin \
  --client-certificate="$pki/admin.crt" --client-key="$pki/admin.key" --embed-certs >/dev/null
kubectl config --kubeconfig="$kubeconfig" set-context krakenops-local --cluster=krakenops-local \
  --user=admin >/dev/null
kubectl config --kubeconfig="$kubeconfig" use-context krakenops-local >/dev/null

up=$SECONDS
start etcd etcd --name local --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT" \
  --listen-metrics-urls "" --unsafe-no-fsync
wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

# RBAC only (no AlwaysAllow), service-account tokens, and the default admission plugins, which
# include PodSecurity and ServiceAccount. On loopback the endpoint reconciler must be off: it
# refuses a 127.0.0.1 advertise address.
start kube-apiserver kube-apiserver \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
  --endpoint-reconciler-type none \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --authorization-mode RBAC \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc --api-audiences https://kubernetes.default.svc \
  --service-cluster-ip-range 10.96.0.0/16 \
  --enable-priority-and-fairness=false
wait_for kube-apiserver 60 kubectl --kubeconfig "$kubeconfig" get --raw /readyz

start kube-controller-manager kube-controller-manager \
  --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
  --leader-elect=false --bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --concurrent-job-syncs 5
start kube-scheduler kube-scheduler \
  --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
  --leader-elect=false --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT"

# kwok plays the node and the trader pods with its own Stages; Job pods are left to the pod runner.
# It renews the node's Lease as a kubelet does: without one the node lifecycle controller takes
# the node for dead between two of the Stages' slower status heartbeats.
"$python" "$here/stages.py" "$(cd "$here/go/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)" \
  >"$dir/kwok.yaml"
start kwok kwok --kubeconfig "$kubeconfig" --config "$dir/kwok.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --server-address "127.0.0.1:$KWOK_PORT" --node-ip 127.0.0.1 \
  --node-lease-duration-seconds 40
start pod-runner "$python" "$here/podrunner.py" --kubeconfig "$kubeconfig" --workdir "$dir/pods"

wait_for pod-runner 30 grep -q "watching pods" "$dir/logs/pod-runner.log"
wait_for kube-controller-manager 60 kubectl --kubeconfig "$kubeconfig" -n default get serviceaccount default
kubectl --kubeconfig "$kubeconfig" apply -f "$here/node.yaml" >/dev/null
# The artifact claim of the chart binds to this volume: a folder of this machine.
mkdir -p "$dir/artifacts"
sed "s#@ARTIFACTS@#$dir/artifacts#" "$here/volume.yaml" | kubectl --kubeconfig "$kubeconfig" apply -f - >/dev/null
wait_for kwok 60 kubectl --kubeconfig "$kubeconfig" wait --for=condition=Ready node/kwok-node-0 --timeout=1s

echo "built or found binaries in ${built}s; control plane ready in $((SECONDS - up))s"
echo "cluster up: export KUBECONFIG=$kubeconfig"
