#!/usr/bin/env python3
"""Independent truth for the net handlers (pktvisor schemas "packets" and "net").

Reads a capture with tshark (Wireshark's dissectors, not our decoder) and
derives, with pktvisor's semantics, every counter and exact distinct/top-N
value the net v1 and v2 handlers report for one host_spec, plus the counters
after a few tcpdump filters (libpcap compiles and runs them). Writes one
golden JSON document.

    net.py --capture FILE [--host-spec CIDR,...] [--name NAME] --out GOLDEN.json

Standard library only. Needs tshark and tcpdump on PATH.

Where pktvisor's view of a frame differs from tshark's, this script follows
pktvisor (compat doc sections 1.2, 2.2, 2.3) and says so at the spot:

  * Defragmentation is off (-o ip.defragment:FALSE -o ipv6.defragment:FALSE):
    pktvisor counts every frame on the wire, never a reassembled datagram.
  * Only the OUTER headers count (-E occurrence=f, and the first "ip"/"ipv6"
    in frame.protocols): an ICMP error quoting a UDP header is ICMP
    (other_l4), an sFlow datagram carrying a sampled IPv6 header is IPv4/UDP.
  * A fragmented datagram's transport header exists only in the first
    fragment: that one counts as udp/tcp, every later fragment as other_l4
    (our project's rule; see FIRST_FRAGMENT_HAS_L4 for how upstream
    pktvisor differs).
  * Frames that are not IP (ARP, LLDP, ...) count in total (and other_l4)
    but in neither ipv4 nor ipv6, and their direction is unknown.
  * 802.1Q and 802.1ad (QinQ) tags are looked through: a tagged IPv4/UDP
    frame is IPv4/UDP.
  * Packet size is frame.len, the length on the wire (pcap orig_len), not
    the captured length: a frame captured short counts its full size.
  * Direction comes from host_spec: destination inside the set => in, else
    source inside => out, else unknown. 0.0.0.0 / :: never match. Host bits
    of the CIDRs are not masked (they are irrelevant to containment).
  * The "remote" address of v1 is the source of inbound and the destination
    of outbound packets; unknown-direction packets feed no top-N/cardinality
    in v1. v2 records, per direction, inbound sources, outbound destinations
    and BOTH addresses of unknown-direction packets.
  * SYN counts every TCP packet with the SYN bit (SYN and SYN-ACK).
  * Everything is deep-sampled (deep_sample_rate 100), so the deep-only
    metrics (syn, top-N, cardinality, sizes) cover every packet.
"""

import argparse
import ipaddress
import json
import math
import os
import subprocess
import sys
import tempfile

FIELDS = [
    "frame.len",
    "frame.time_epoch",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ip.frag_offset",
    "ip.flags.mf",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.fraghdr.offset",
    "tcp.flags",
]

# tcpdump expressions whose results the reader's -b must reproduce. libpcap
# semantics apply (e.g. "udp" checks the IPv6 base header's next header only,
# so IPv6 UDP behind an extension header does not match; "port 53" matches
# only first IPv4 fragments).
FILTERS = ["udp", "tcp", "ip6", "port 53", "vlan"]

# Whether the first fragment of a fragmented datagram counts by its
# transport header (udp/tcp). Our decoder and the project brief say yes.
# Upstream pktvisor says no: PcapPlusPlus's IPv4Layer/IPv6Layer
# parseNextLayer make the payload of ANY fragment (IPv4 MF set or offset
# != 0, or an IPv6 fragment header) a PayloadLayer, so pktvisor never sees a
# UDP/TCP layer there and counts even the first fragment as other_l4. Flip
# this (and the decoder) if the project decides to copy that.
FIRST_FRAGMENT_HAS_L4 = True

TOPN = 10
QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def tshark_rows(path):
    cmd = ["tshark", "-n", "-r", path,
           "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-o", "tcp.desegment_tcp_streams:FALSE",
           "-T", "fields", "-E", "occurrence=f", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        vals = line.split("\t")
        vals += [""] * (len(FIELDS) - len(vals))
        yield dict(zip(FIELDS, vals))


class HostSet:
    def __init__(self, spec):
        self.nets = []
        for part in (spec or "").split(","):
            part = part.strip()
            if part:
                # strict=False: pktvisor keeps host bits; containment is the
                # same either way.
                self.nets.append(ipaddress.ip_network(part, strict=False))

    def contains(self, addr):
        if addr is None or addr.is_unspecified:
            return False
        return any(addr.version == n.version and addr in n for n in self.nets)


def classify(row):
    """Returns (l3, l4, src, dst, syn) with pktvisor's view of the frame."""
    protos = row["frame.protocols"].split(":")
    l3, pos = None, -1
    for i, p in enumerate(protos):
        if p in ("ip", "ipv6"):
            l3, pos = p, i
            break
    if l3 is None:
        # Not IP: counted in total, other_l4, unknown direction.
        return None, "other", None, None, False
    if l3 == "ip":
        src, dst = ipaddress.ip_address(row["ip.src"]), ipaddress.ip_address(row["ip.dst"])
        later_fragment = row["ip.frag_offset"] not in ("", "0")
        fragment = later_fragment or row["ip.flags.mf"] in ("1", "True")
    else:
        src, dst = ipaddress.ip_address(row["ipv6.src"]), ipaddress.ip_address(row["ipv6.dst"])
        later_fragment = row["ipv6.fraghdr.offset"] not in ("", "0")
        # PcapPlusPlus treats any fragment header as a fragment, even an
        # atomic one (offset 0, no more fragments).
        fragment = later_fragment or "ipv6.fraghdr" in protos
    # The transport is the protocol right after the outer IP header and any
    # IPv6 extension headers (tshark names them ipv6.hopopts, ipv6.routing,
    # ipv6.fraghdr, ipv6.dstopts).
    nxt = ""
    for p in protos[pos + 1:]:
        if p.startswith("ipv6."):
            continue
        nxt = p
        break
    if later_fragment or (fragment and not FIRST_FRAGMENT_HAS_L4):
        l4 = "other"  # no transport header in a later fragment
    elif nxt == "udp":
        l4 = "udp"
    elif nxt == "tcp":
        l4 = "tcp"
    else:
        l4 = "other"
    syn = l4 == "tcp" and row["tcp.flags"] != "" and int(row["tcp.flags"], 16) & 0x02 != 0
    return l3, l4, src, dst, syn


def quantile_range(values):
    """Per quantile, the exact inclusive-rank value's neighbours [lo, hi]:
    pktvisor's KLL and our DDSketch may pick the item one rank either side."""
    if not values:
        return {}
    v = sorted(values)
    n = len(v)
    out = {}
    for name, q in QUANTILES.items():
        idx = max(0, math.ceil(q * n) - 1)
        out[name] = [v[max(0, idx - 1)], v[min(n - 1, idx + 1)]]
    return out


def top(counts):
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"name": k, "estimate": c} for k, c in rows[:TOPN]]


def empty_counters():
    return {"total": 0, "ipv4": 0, "ipv6": 0, "udp": 0, "tcp": 0, "other_l4": 0}


def count(row, c):
    l3, l4, _, _, _ = classify(row)
    c["total"] += 1
    if l3 == "ip":
        c["ipv4"] += 1
    elif l3 == "ipv6":
        c["ipv6"] += 1
    c["udp" if l4 == "udp" else "tcp" if l4 == "tcp" else "other_l4"] += 1


def derive(path, host_spec):
    hosts = HostSet(host_spec)
    v1 = empty_counters()
    v1.update({"in": 0, "out": 0, "unknown_dir": 0, "protocol": {"tcp": {"syn": 0}},
               "bytes_total": 0, "bytes_in": 0, "bytes_out": 0})
    src_in, dst_out = set(), set()
    remote = {"ipv4": {}, "ipv6": {}}
    sizes = []
    v2 = {}
    first_ts = last_ts = None

    for row in tshark_rows(path):
        l3, l4, src, dst, syn = classify(row)
        size = int(row["frame.len"])  # wire length, as pktvisor's payload_size
        ts = float(row["frame.time_epoch"])
        first_ts = ts if first_ts is None else first_ts
        last_ts = ts
        count(row, v1)
        v1["bytes_total"] += size
        sizes.append(size)
        if syn:
            v1["protocol"]["tcp"]["syn"] += 1

        if l3 is not None and hosts.contains(dst):
            direction = "in"
        elif l3 is not None and hosts.contains(src):
            direction = "out"
        else:
            direction = "unknown"

        if direction == "in":
            v1["in"] += 1
            v1["bytes_in"] += size
            src_in.add(src)
            fam = "ipv4" if src.version == 4 else "ipv6"
            remote[fam][src.compressed] = remote[fam].get(src.compressed, 0) + 1
        elif direction == "out":
            v1["out"] += 1
            v1["bytes_out"] += size
            dst_out.add(dst)
            fam = "ipv4" if dst.version == 4 else "ipv6"
            remote[fam][dst.compressed] = remote[fam].get(dst.compressed, 0) + 1
        else:
            v1["unknown_dir"] += 1

        d = v2.get(direction)
        if d is None:
            d = v2[direction] = {"c": empty_counters(), "syn": 0, "ips": set(),
                                 "ipv4": {}, "ipv6": {}, "sizes": [], "bytes": 0}
        count(row, d["c"])
        d["syn"] += 1 if syn else 0
        d["sizes"].append(size)
        d["bytes"] += size
        recorded = {"in": [src], "out": [dst]}.get(direction, [src, dst])
        for a in recorded:
            if a is None:
                continue  # non-IP frame
            d["ips"].add(a)
            fam = "ipv4" if a.version == 4 else "ipv6"
            d[fam][a.compressed] = d[fam].get(a.compressed, 0) + 1

    packets = dict(v1)
    packets["cardinality"] = {"src_ips_in": len(src_in), "dst_ips_out": len(dst_out)}
    packets["top_ipv4"] = top(remote["ipv4"])
    packets["top_ipv6"] = top(remote["ipv6"])
    packets["remote_ipv4_counts"] = remote["ipv4"]
    packets["remote_ipv6_counts"] = remote["ipv6"]
    packets["payload_size"] = quantile_range(sizes)

    net = {}
    for direction, d in v2.items():
        c = d["c"]
        net[direction] = {
            "udp_packets": c["udp"], "tcp_packets": c["tcp"], "other_l4_packets": c["other_l4"],
            "ipv4_packets": c["ipv4"], "ipv6_packets": c["ipv6"], "total_packets": c["total"],
            "tcp": {"syn_packets": d["syn"]},
            "cardinality": {"ips": len(d["ips"])},
            "top_ipv4_packets": top(d["ipv4"]),
            "top_ipv6_packets": top(d["ipv6"]),
            "ipv4_counts": d["ipv4"],
            "ipv6_counts": d["ipv6"],
            "payload_size_bytes": quantile_range(d["sizes"]),
            "bytes": d["bytes"],
        }
    return packets, net, first_ts, last_ts


def filtered_counters(path, expr):
    """Counters of the frames libpcap's compilation of expr accepts, or None
    when tcpdump cannot compile it for this file's link type."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "f.pcap")
        r = subprocess.run(["tcpdump", "-r", path, "-w", out, expr], capture_output=True, text=True)
        if r.returncode != 0:
            return None
        c = empty_counters()
        for row in tshark_rows(out):
            count(row, c)
        return c


def tshark_version():
    out = subprocess.run(["tshark", "-v"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capture", required=True)
    ap.add_argument("--host-spec", default="")
    ap.add_argument("--name", help="capture name recorded in the golden (default: file name)")
    ap.add_argument("--source", default="", help="where tests find the capture: testdata or fixtures")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    packets, net, first_ts, last_ts = derive(args.capture, args.host_spec)
    golden = {
        "capture": args.name or os.path.basename(args.capture),
        "source": args.source,
        "host_spec": args.host_spec,
        "generated_by": "test/truth/net.py with " + tshark_version(),
        "first_ts": first_ts,
        "last_ts": last_ts,
        "topn_count": TOPN,
        "packets": packets,
        "net": net,
    }
    if not args.host_spec:
        # Filters do not depend on direction: record them once per capture.
        golden["bpf"] = {}
        for expr in FILTERS:
            c = filtered_counters(args.capture, expr)
            if c is not None:
                golden["bpf"][expr] = c
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
