#!/usr/bin/env bash
# Regenerates the net handler goldens (test/testdata/golden/net/*.json) from
# tshark's view of each capture, via test/truth/net.py. Run from anywhere;
# fixtures are read in place from ../shared/fixtures beside the repository
# and skipped (with a note) when that directory is absent.
#
# Each capture gets one golden without a host spec (everything "unknown";
# also records the tcpdump-filter counters) and one per host spec below.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
fixtures=${FIXTURES:-$root/../shared/fixtures}
out=$root/test/testdata/golden/net
truth=$root/test/truth/net.py

for tool in tshark tcpdump python3; do
  command -v "$tool" >/dev/null || { echo "make-goldens: $tool not found (run test/install-deps.sh)" >&2; exit 1; }
done
mkdir -p "$out"

# host_spec per capture: the machine whose traffic the capture is about
# (from the fixture README and a look at the addresses).
declare -A hosts=(
  [sample.pcap]="192.0.2.10/32,2001:db8::10/128"
  [dns_udp_mixed_rcode.pcap]="192.168.0.54/32"
  [dns_udp_tcp_random.pcap]="192.168.0.189/32"
  [dns_ipv4_udp.pcap]="127.0.0.1/32"
  [dns_ipv4_tcp.pcap]="127.0.0.1/32"
  [dns_ipv6_udp.pcap]="::1/128"
  [dns_ipv6_tcp.pcap]="::1/128"
  [dnssec.pcap]="172.16.1.199/32"
  [ecs.pcap]="194.247.5.14/32,2001:470:1f0b:16b0:20c:29ff:fe7c:a4cb/128"
  [dhcp-flow.pcap]="192.168.2.1/32"
  [dhcpv6.pcap]="fe80::a00:27ff:fed4:10bb/128"
  [bgp.pcap]="10.1.1.1/32"
  [nf1.pcap]="10.0.0.2/32"
  [nf5.pcap]="10.0.0.3/32"
  [nf7.pcap]="10.0.0.2/32"
  [nf9.pcap]="10.100.101.1/32"
  [ipfix.pcap]="192.168.100.2/32"
  [sflow_ipv6.pcap]="10.0.0.2/32"
  [sflow_keyed.pcap]="10.0.0.2/32"
)

gen() { # capture-path source
  local cap=$1 src=$2 name
  name=$(basename "$cap")
  python3 "$truth" --capture "$cap" --source "$src" --out "$out/${name%.pcap}.nohost.json"
  if [ -n "${hosts[$name]:-}" ]; then
    python3 "$truth" --capture "$cap" --source "$src" --host-spec "${hosts[$name]}" \
      --out "$out/${name%.pcap}.host.json"
  else
    echo "make-goldens: no host spec for $name; only the no-host golden written" >&2
  fi
  echo "make-goldens: $name" >&2
}

gen "$root/test/testdata/sample.pcap" testdata
if [ -d "$fixtures" ]; then
  for cap in "$fixtures"/*.pcap; do
    gen "$cap" fixtures
  done
else
  echo "make-goldens: $fixtures absent; fixture goldens left as they are" >&2
fi
