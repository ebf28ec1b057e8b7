#!/usr/bin/env bash
# make demo: start (or reuse) the local cluster and walk through the main job
# end to end with the freshly built kubectl-shipjob on PATH: define a job,
# run it with a parameter, watch it, read its logs, see a failure's exit code.
set -euo pipefail
: "${CLUSTER_BIN:?}" "${CLUSTER_STATE:?}"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

eval "$(go run ./test/cluster/cmd/localcluster up --bin "$CLUSTER_BIN" --state "$CLUSTER_STATE")"
export KUBECONFIG
ns="demo-$(date +%H%M%S)"
kubectl create namespace "$ns" >/dev/null
kubectl config set-context --current --namespace "$ns" >/dev/null
trap 'kubectl config set-context --current --namespace default >/dev/null' EXIT
cfg=$(mktemp)
printf 'database: postgres://db:5432/app\n' > "$cfg"

step kubectl get nodes
step kubectl shipjob version
# SIM_* env steers the simulated workload on the local KWOK node.
step kubectl shipjob create migrate --image ghcr.io/acme/migrate:1.4 \
  --env SIM_DURATION=2s --param TARGET=latest --param SIM_EXIT_CODE=0 \
  --file /etc/migrate/config.yaml="$cfg" --timeout 10m --retention 1h \
  --description "Database migrations"
step kubectl shipjob list
step kubectl shipjob run migrate --param TARGET=v42 --follow
step kubectl shipjob run migrate --param SIM_EXIT_CODE=3 --wait || echo "(exit code $?: the run's own exit code)"
step kubectl shipjob runs migrate
step kubectl shipjob logs migrate
step kubectl shipjob get migrate -o yaml

echo
echo "The local cluster keeps running (namespace $ns). Use it with:"
echo "  export KUBECONFIG=$KUBECONFIG"
echo "Stop it with: make cluster-down"
echo
bindir=$(dirname "$(realpath "$(command -v kubectl-shipjob)")")
echo "Open the web UI on the demo's jobs (it prints a one-time link and opens a browser; add --no-browser for the link only):"
echo "  KUBECONFIG=$KUBECONFIG PATH=$bindir:\$PATH kubectl shipjob ui -n $ns"
