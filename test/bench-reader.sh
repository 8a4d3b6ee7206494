#!/usr/bin/env bash
# Reader throughput against the usual baselines: pktvisor-reader --periods 1
# versus `tcpdump -r FILE -w /dev/null` (libpcap read + write, no
# dissection) and `tshark -r FILE -q` (full dissection), on the same file in
# the same run. Every tool is pinned to one CPU (taskset -c 0), so packets
# per wall-second is packets per second per core; user+sys CPU from rusage
# is printed too (some VMs under-report it, so the ratios use pinned wall
# time).
#
# The input is dns_udp_tcp_random.pcap from ../shared/fixtures (or the
# committed sample when the fixtures are absent) concatenated LOOPS times
# (default 100) into one temporary pcap; timestamps repeat, which does not
# matter with --periods 1. Each tool runs REPEAT times (default 5; tshark
# once) and the fastest run counts.
#
# Usage: test/bench-reader.sh            (from `make bench`)
#        BENCH_PCAP=x.pcap BENCH_HOSTSPEC=10.0.0.1/32 test/bench-reader.sh
#        LOOPS=20 REPEAT=3 test/bench-reader.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
loops=${LOOPS:-100}
repeat=${REPEAT:-5}
src=${BENCH_PCAP:-$root/../shared/fixtures/dns_udp_tcp_random.pcap}
hostspec=${BENCH_HOSTSPEC:-192.168.0.189/32}
if [ ! -f "$src" ]; then
  src=$root/test/testdata/sample.pcap hostspec=192.0.2.10/32,2001:db8::10/128
fi

for tool in mergecap capinfos; do
  command -v "$tool" >/dev/null || { echo "bench-reader: $tool missing (run test/install-deps.sh)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
reader=$tmp/pktvisor-reader
(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$reader" ./cmd/pktvisor-reader)

files=()
for _ in $(seq "$loops"); do files+=("$src"); done
mergecap -F pcap -a -w "$tmp/looped.pcap" "${files[@]}"
pkts=$(capinfos -M -c -T "$tmp/looped.pcap" | awk -F'\t' 'NR==2 {print $2}')
bytes=$(stat -c %s "$tmp/looped.pcap")

# measure NAME CMD...: best wall time of REPEAT runs, with that run's
# user+sys CPU seconds. Output goes to /dev/null.
declare -A wall cpu
measure() {
  local name=$1 n=$2; shift 2
  local best_w="" best_c=""
  local pin=()
  command -v taskset >/dev/null && pin=(taskset -c 0)
  for _ in $(seq "$n"); do
    /usr/bin/time -f '%e %U %S' -o "$tmp/time" "${pin[@]}" "$@" >/dev/null 2>"$tmp/stderr" || {
      echo "bench-reader: $name failed:" >&2; cat "$tmp/stderr" >&2; return 1; }
    read -r w u s <"$tmp/time"
    c=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
    if [ -z "$best_w" ] || awk -v a="$w" -v b="$best_w" 'BEGIN {exit !(a < b)}'; then
      best_w=$w best_c=$c
    fi
  done
  wall[$name]=$best_w cpu[$name]=$best_c
}

# With a host spec every packet has a direction, so the reader also does
# the top-N and cardinality work, as it would in use.
measure pktvisor-reader "$repeat" "$reader" --periods 1 -H "$hostspec" "$tmp/looped.pcap"
have_tcpdump=0 have_tshark=0
if command -v tcpdump >/dev/null; then
  measure tcpdump "$repeat" tcpdump -r "$tmp/looped.pcap" -w /dev/null && have_tcpdump=1
fi
if command -v tshark >/dev/null; then
  # -q without taps or filters lets tshark skip most dissection; printing
  # the one-line summaries (to /dev/null) makes it dissect every frame.
  measure tshark 1 tshark -r "$tmp/looped.pcap" -q && have_tshark=1
  measure tshark-print 1 tshark -n -r "$tmp/looped.pcap" || true
fi

rate() { awk -v p="$pkts" -v t="$1" 'BEGIN { if (t <= 0) t = 0.01; printf "%.0f", p / t }'; }

echo
echo "input: $(basename "$src") x $loops = $pkts packets (reader -H $hostspec), $((bytes / 1024)) KiB; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
printf '%-16s %9s %9s %16s %16s\n' tool wall_s cpu_s pkts/s/core pkts/cpu_s
tools=(pktvisor-reader)
[ $have_tcpdump = 1 ] && tools+=(tcpdump)
[ $have_tshark = 1 ] && tools+=(tshark)
[ -n "${wall[tshark-print]:-}" ] && tools+=(tshark-print)
for t in "${tools[@]}"; do
  printf '%-16s %9s %9s %16s %16s\n' "$t" "${wall[$t]}" "${cpu[$t]}" "$(rate "${wall[$t]}")" "$(rate "${cpu[$t]}")"
done
ours=$(rate "${wall[pktvisor-reader]}")
for t in tcpdump tshark tshark-print; do
  [ -n "${wall[$t]:-}" ] || continue
  awk -v a="$ours" -v b="$(rate "${wall[$t]}")" -v t="$t" \
    'BEGIN { printf "ratio pktvisor-reader/%s (packets per second per core): %.2f\n", t, a / b }'
done
