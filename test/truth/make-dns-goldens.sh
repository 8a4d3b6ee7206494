#!/usr/bin/env bash
# Regenerates the dns handler goldens (test/testdata/golden/dns/*.json) from
# tshark's view of each capture, via test/truth/dns.py. Fixtures are read in
# place from ../shared/fixtures; absent captures are skipped with a note.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
fixtures=${FIXTURES:-$root/../shared/fixtures}
out=$root/test/testdata/golden/dns
truth=$root/test/truth/dns.py
command -v tshark >/dev/null || { echo "make-dns-goldens: tshark not found (run test/install-deps.sh)" >&2; exit 1; }
mkdir -p "$out"

# The host whose traffic each capture is about (same choice as the net goldens).
declare -A hosts=(
  [sample.pcap]="192.0.2.10/32,2001:db8::10/128"
  [dns_udp_mixed_rcode.pcap]="192.168.0.54/32"
  [dns_udp_tcp_random.pcap]="192.168.0.189/32"
  [dns_ipv4_udp.pcap]="127.0.0.1/32"
  [dns_ipv4_tcp.pcap]="127.0.0.1/32"
  [dns_ipv6_udp.pcap]="::1/128"
  [dns_ipv6_tcp.pcap]="::1/128"
  [dnssec.pcap]="172.16.1.199/32"
  [ecs.pcap]=""
)

for name in "${!hosts[@]}"; do
  if [[ $name == sample.pcap ]]; then cap=$root/test/testdata/sample.pcap; else cap=$fixtures/$name; fi
  if [[ ! -f $cap ]]; then echo "skip $name (not found)" >&2; continue; fi
  python3 "$truth" --capture "$cap" --host-spec "${hosts[$name]}" --out "$out/${name%.pcap}.json"
  echo "wrote $out/${name%.pcap}.json"
done
