#!/usr/bin/env bash
# make demo: start (or reuse) the local cluster and walk through the main job
# end to end with the freshly built kubectl-shipjob on PATH.
set -euo pipefail
: "${CLUSTER_BIN:?}" "${CLUSTER_STATE:?}"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

eval "$(go run ./test/cluster/cmd/localcluster up --bin "$CLUSTER_BIN" --state "$CLUSTER_STATE")"
export KUBECONFIG
step kubectl get nodes
step kubectl shipjob version

echo
echo "The local cluster keeps running. Use it with:"
echo "  export KUBECONFIG=$KUBECONFIG"
echo "Stop it with: make cluster-down"
