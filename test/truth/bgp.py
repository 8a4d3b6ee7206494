#!/usr/bin/env python3
"""Independent truth for the bgp handler (pktvisor schema "bgp").

Reads a capture with tshark (Wireshark's bgp dissector over its own TCP
reassembly, not our code) and counts every BGP message by type, for one
summary bucket with every event deep-sampled. Writes one golden JSON
document:

    bgp.py --capture FILE --out GOLDEN.json

Standard library only. Needs tshark on PATH.

Semantics: every message counts, including the second and later messages
of one TCP segment and messages split across segments (we fix pktvisor's
one-message-per-chunk quirk 8 deliberately). events = deep_samples = total =
the number of messages; types 1..5 are open, update, notification,
keepalive and routerefresh.
"""

import argparse
import json
import subprocess
import sys

NAMES = {1: "open", 2: "update", 3: "notification", 4: "keepalive", 5: "routerefresh"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cmd = ["tshark", "-n", "-r", a.capture, "-o", "tcp.desegment_tcp_streams:TRUE",
           "-Y", "bgp", "-T", "fields", "-E", "occurrence=a", "-e", "bgp.type"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    c = {n: 0 for n in NAMES.values()}
    c.update(total=0, filtered=0, events=0, deep_samples=0)
    for line in out.splitlines():
        for t in filter(None, line.split(",")):
            c["total"] += 1
            c["events"] += 1
            c["deep_samples"] += 1
            name = NAMES.get(int(t))
            if name:
                c[name] += 1
    doc = {"capture": a.capture.split("/")[-1], "bgp": {"wire_packets": c}}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
