#!/usr/bin/env bash
# Stops every process up.sh started, and what they started, and keeps the cluster's files
# (`rm -rf .cluster` forgets the cluster too).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(cd "${CLUSTER_DIR:-$here/../../.cluster}" 2>/dev/null && pwd)" || { echo "no cluster"; exit 0; }
# In reverse order of start: the pod runner and kwok first, etcd last.
for name in operator pod-runner kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  pidfile="$dir/run/$name.pid"
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  # A pid file that outlived its process (a reboot) may name someone else's process now.
  if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name\|$dir"; then
    rm -f "$pidfile"
    continue
  fi
  # Each component leads a session of its own (setsid): signal the whole group.
  kill -TERM -- "-$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null
  rm -f "$pidfile"
done
echo "cluster down"
