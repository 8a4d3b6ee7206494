#!/usr/bin/env python3
"""Independent truth for the dhcp handler (pktvisor schema "dhcp").

Reads a capture with tshark (Wireshark's dhcp and dhcpv6 dissectors, not our
decoder) and derives, with pktvisor's semantics (compat doc section 2.8),
every counter and top list of the handler for one summary bucket, with every
event deep-sampled. Writes one golden JSON document:

    dhcp.py --capture FILE --out GOLDEN.json

Standard library only. Needs tshark on PATH.

Semantics followed (and where they come from):
  * A UDP datagram with either port 67 or 68 is a DHCPv4 event, else one with
    546 or 547 is a DHCPv6 event (pktvisor tests the v4 ports first).
  * total / rates.total count DHCPv4 only (quirk 7, kept); total_v6 is our
    additive DHCPv6 count.
  * top_clients: a REQUEST (option 53 = 3) opens a transaction keyed by xid
    holding the client hardware address (chaddr) and option 12 (host name,
    "Unknown" when absent); the next ACK (53 = 5) with the same xid within
    the TTL (5 s) closes it and, when yiaddr is not 0.0.0.0, counts
    "<chaddr>/<hostname>/<yiaddr>". A repeated REQUEST restarts it.
  * top_servers: a DHCPv4 OFFER with a server-identifier option counts
    "<Ethernet source>/<server id>"; a DHCPv6 ADVERTISE or REPLY with a
    top-level Server Identifier option (type 2) counts
    "<Ethernet source>/<IPv6 source>".
"""

import argparse
import json
import subprocess
import sys

FIELDS = [
    "frame.number", "frame.time_epoch", "eth.src", "ipv6.src", "udp.srcport", "udp.dstport",
    "dhcp.option.dhcp", "dhcp.id", "dhcp.hw.mac_addr", "dhcp.option.hostname",
    "dhcp.ip.your", "dhcp.option.dhcp_server_id",
    "dhcpv6.msgtype",
]
TTL = 5.0


def rows(capture):
    cmd = ["tshark", "-n", "-r", capture, "-Y", "udp", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        v = line.split("\t")
        v += [""] * (len(FIELDS) - len(v))
        yield dict(zip(FIELDS, v))


def v6_option_types(capture):
    """DHCPv6 option types per frame number, all occurrences. tshark lists
    nested options too; a Server Identifier (type 2) is only ever a top-level
    option, so its presence is what this is used for."""
    cmd = ["tshark", "-n", "-r", capture, "-Y", "dhcpv6", "-T", "fields", "-E", "occurrence=a",
           "-e", "frame.number", "-e", "dhcpv6.option.type"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    types = {}
    for line in out.splitlines():
        num, _, t = line.partition("\t")
        types[int(num)] = set(x for x in t.split(",") if x)
    return types


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    c = dict(discover=0, offer=0, request=0, ack=0, solicit=0, advertise=0, request_v6=0,
             reply=0, total=0, total_v6=0, filtered=0, events=0, deep_samples=0)
    clients, servers, xacts = {}, {}, {}
    v6types = v6_option_types(a.capture)
    for r in rows(a.capture):
        ports = {int(r["udp.srcport"] or 0), int(r["udp.dstport"] or 0)}
        ts = float(r["frame.time_epoch"])
        if ports & {67, 68}:
            c["events"] += 1
            c["deep_samples"] += 1
            c["total"] += 1
            t = int(r["dhcp.option.dhcp"] or 0)
            xid = r["dhcp.id"]
            if t == 1:
                c["discover"] += 1
            elif t == 2:
                c["offer"] += 1
                if r["dhcp.option.dhcp_server_id"] and r["eth.src"]:
                    k = r["eth.src"] + "/" + r["dhcp.option.dhcp_server_id"]
                    servers[k] = servers.get(k, 0) + 1
            elif t == 3:
                c["request"] += 1
                xacts[xid] = (ts, r["dhcp.hw.mac_addr"], r["dhcp.option.hostname"] or "Unknown")
            elif t == 5:
                c["ack"] += 1
                x = xacts.pop(xid, None)
                if x and ts - x[0] <= TTL and r["dhcp.ip.your"] not in ("", "0.0.0.0"):
                    k = "%s/%s/%s" % (x[1], x[2], r["dhcp.ip.your"])
                    clients[k] = clients.get(k, 0) + 1
        elif ports & {546, 547}:
            c["events"] += 1
            c["deep_samples"] += 1
            c["total_v6"] += 1
            t = int(r["dhcpv6.msgtype"] or 0)
            name = {1: "solicit", 2: "advertise", 3: "request_v6", 7: "reply"}.get(t)
            if name:
                c[name] += 1
            has_sid = "2" in v6types.get(int(r["frame.number"]), set())
            if t in (2, 7) and has_sid and r["eth.src"] and r["ipv6.src"] not in ("", "::"):
                k = r["eth.src"] + "/" + r["ipv6.src"]
                servers[k] = servers.get(k, 0) + 1

    def top(d):
        return [{"name": k, "estimate": v} for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))]

    doc = {"capture": a.capture.split("/")[-1],
           "dhcp": {"wire_packets": c, "top_clients": top(clients), "top_servers": top(servers)}}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
