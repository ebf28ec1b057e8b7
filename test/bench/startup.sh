#!/usr/bin/env bash
# Size, start-up time and peak memory of kubectl-shipjob side by side with
# kubectl (and helm, when `make tools` built it), printed as the Markdown
# section of BENCHMARKS.md. Run through `make bench-startup`, which builds
# the release binary (linux/amd64, CGO_ENABLED=0, -trimpath, -s -w) first.
#
#   test/bench/startup.sh BIN      (BIN.unstripped is used for the size by module)
#
# Timing uses hyperfine when installed (apt-get install hyperfine), else a
# loop of `date` stamps; both report medians. Peak RSS is the median of
# /usr/bin/time -f %M over the runs.
set -euo pipefail
bin=${1:?usage: startup.sh BIN}
runs=${RUNS:-40}
kubectl=$(readlink -f "$(command -v kubectl)")
helm=${SHIPJOB_HELM3:-}
pkgsize=${PKGSIZE:-$(dirname "$bin")/pkgsize}
size_target=$(stat -c %s "$kubectl")   # the issue's target: kubectl's own size
rss_target_kib=$((45 * 1024))

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Run a copy written with write(2), as krew, tar and cp install it: a binary
# fresh from the Go linker (written through mmap) can sit in the page cache
# as huge folios, which the kernel maps whole and which inflates RSS by tens
# of MB on this machine's kernel.
cat "$bin" > "$work/kubectl-shipjob" && chmod +x "$work/kubectl-shipjob"
sj="$work/kubectl-shipjob"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# wall_ms CMD...: median wall time in ms.
wall_ms() {
  if command -v hyperfine >/dev/null; then
    hyperfine -N -w 5 -r "$runs" --export-json "$work/h.json" "$*" >/dev/null 2>&1
    awk -F: '/"median"/ {gsub(/[ ,]/, "", $2); printf "%.1f\n", $2 * 1000; exit}' "$work/h.json"
  else
    for _ in $(seq 5); do "$@" >/dev/null 2>&1; done
    for _ in $(seq "$runs"); do
      s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000))
    done | median | awk '{printf "%.1f\n", $1 / 1000}'
  fi
}

# rss_kib CMD...: median peak RSS in KiB.
rss_kib() {
  for _ in $(seq "$runs"); do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | awk 'END {print}'; done | median
}

# init_ms BIN: median total package initialization time (GODEBUG=inittrace=1).
init_ms() {
  for _ in $(seq 10); do
    GODEBUG=inittrace=1 "$@" 2>&1 >/dev/null | awk '/^init / {t += $5} END {print t}'
  done | median
}

mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

sj_size=$(stat -c %s "$bin")
sj_wall=$(wall_ms "$sj" version)
k_wall=$(wall_ms "$kubectl" version --client)
sj_rss=$(rss_kib "$sj" version)
k_rss=$(rss_kib "$kubectl" version --client)
sj_init=$(init_ms "$sj" version)
ratio=$(awk -v a="$sj_wall" -v b="$k_wall" 'BEGIN {printf "%.2f", a / b}')
verdict() { if awk -v v="$1" -v t="$2" 'BEGIN {exit !(v <= t)}'; then echo met; else echo "**not met**"; fi; }

echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -r)), $runs runs each, medians;"
echo "$("$sj" version | awk 'NR == 1'); kubectl: $kubectl ($("$kubectl" version --client 2>/dev/null | awk 'NR == 1'))."
echo
echo "| | kubectl-shipjob | kubectl | target | |"
echo "|---|---:|---:|---|---|"
echo "| binary size (linux/amd64, stripped) | $(mb "$sj_size") MB | $(mb "$size_target") MB | ≤ kubectl's | $(verdict "$sj_size" "$size_target") |"
echo "| \`version\` wall time (\`kubectl version --client\`) | ${sj_wall} ms | ${k_wall} ms | ≤ 0.5× kubectl: ${ratio}× | $(verdict "$ratio" 0.5) |"
echo "| \`version\` peak RSS | $(mib "$sj_rss") MiB | $(mib "$k_rss") MiB | ≤ 45 MiB | $(verdict "$sj_rss" "$rss_target_kib") |"
echo "| package init (GODEBUG=inittrace=1, sum) | ${sj_init} ms | | | |"
if [[ -x $helm ]]; then
  cat "$helm" > "$work/helm" && chmod +x "$work/helm"
  echo "| for comparison: \`helm version\` (v3) | | | $(wall_ms "$work/helm" version) ms, $(mib "$(rss_kib "$work/helm" version)") MiB | |"
fi
echo
echo "Largest package initializers of \`kubectl-shipjob version\` (one run):"
echo
echo '| package | ms | allocated |'
echo '|---|---:|---:|'
GODEBUG=inittrace=1 "$sj" version 2>&1 >/dev/null | awk '/^init / {printf "| %s | %s | %.0f KB |\n", $2, $5, $8 / 1024}' |
  sort -t'|' -k3 -rn | awk 'NR <= 8'
if [[ -x $pkgsize && -f $bin.unstripped ]]; then
  echo
  echo "Size by module (symbol sizes in the unstripped binary's text, rodata and data; the"
  echo "stripped file adds the pclntab, roughly in proportion):"
  echo
  "$pkgsize" -top 25 "$bin.unstripped"
  echo
  echo "The same by package path prefix (3 elements):"
  echo
  "$pkgsize" -by prefix -depth 3 -top 20 "$bin.unstripped"
fi
