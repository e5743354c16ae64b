#!/usr/bin/env bash
# Stops every process up.sh started, and what they started, and keeps the cluster's files
# (`rm -rf .cluster` forgets the cluster too).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${CLUSTER_DIR:-$here/../../.cluster}"
# In reverse order of start: the pod runner and kwok first, etcd last.
for name in pod-runner kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  pidfile="$dir/run/$name.pid"
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  # Each component leads a session of its own (setsid): signal the whole group.
  kill -TERM -- "-$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null
  rm -f "$pidfile"
done
echo "cluster down"
