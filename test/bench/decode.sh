#!/usr/bin/env bash
# Decoding speed of the API objects the plugin reads on its hot paths, built
# with the release's compiler flags (the arguments: DIST_GCFLAGS) and without
# any, alternating in one run; prints medians of ns/op and the ratio.
#   make bench-decode   (= test/bench/decode.sh $(DIST_GCFLAGS))
set -euo pipefail
rounds=${ROUNDS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/default" ./test/bench/decode
go test -c "$@" -o "$tmp/release" ./test/bench/decode
for _ in $(seq "$rounds"); do
  for v in default release; do
    "$tmp/$v" -test.run '^$' -test.bench . -test.benchtime 300x |
      awk -v v="$v" '/^Benchmark/ { sub(/-[0-9]+$/, "", $1); print v, $1, $3 }' >> "$tmp/results"
  done
done
echo "| benchmark (200 objects, protobuf) | default build, ns/op | release flags, ns/op | ratio |"
echo "|---|---:|---:|---:|"
sort -k2,2 -k1,1 -k3,3n "$tmp/results" | awk -v n="$rounds" '
  { k = $2 SUBSEP $1; c[k]++; if (c[k] == int((n + 1) / 2)) med[k] = $3; names[$2] = 1 }
  END {
    for (b in names) {
      d = med[b, "default"]; r = med[b, "release"]
      printf "| %s | %d | %d | %.2f× |\n", b, d, r, r / d
    }
  }' | sort
