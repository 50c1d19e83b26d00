#!/usr/bin/env bash
# End-to-end benchmark of `lacquer master`: the release binary masters a
# generated 3-minute 44.1 kHz stereo track (decode, analyse, classify, plan,
# process, loudness loop, 24-bit WAV encode, gate, JSON report) N times;
# prints each run's wall time and peak RSS (GNU time -v) and the medians.
#
# Targets (SPEC / issue 5): median wall <= 1 s, peak RSS <= 200 MB.
#
#   benches/master-e2e.sh [RUNS] [SECONDS]      (defaults: 5 runs, 180 s)
#   LACQUER_BIN=path/to/lacquer benches/master-e2e.sh
set -euo pipefail

runs=${1:-5}
seconds=${2:-180}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${LACQUER_BIN:-$root/target/release/lacquer}

if [[ ! -x /usr/bin/time ]]; then
  echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2
  exit 1
fi
if [[ -z ${LACQUER_BIN:-} ]]; then
  (cd "$root" && cargo build --release -p lacquer-cli --bin lacquer >&2)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && cargo run --quiet --release -p lacquer-engine --example make_bench_track -- "$work/track.wav" "$seconds" >&2)

walls=()
rss=()
for i in $(seq 1 "$runs"); do
  /usr/bin/time -v -o "$work/time.txt" \
    "$bin" master "$work/track.wav" -o "$work/track.master.wav" \
    --report "$work/report.json" --png "$work/report.png" --force --jobs 1 >/dev/null
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(k=1;k<=n;k++) s=s*60+t[k]; print s}' "$work/time.txt")
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  walls+=("$wall")
  rss+=("$kb")
  printf 'run %d: wall %.3f s, peak RSS %.1f MB\n' "$i" "$wall" "$(echo "$kb / 1024" | bc -l)"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
printf 'median of %d runs (%s s track): wall %.3f s, peak RSS %.1f MB\n' \
  "$runs" "$seconds" "$(median "${walls[@]}")" "$(echo "$(median "${rss[@]}") / 1024" | bc -l)"
