#!/usr/bin/env python3
"""Independent truth for the flow decoders and the flow handler.

Reads a capture of NetFlow v1/v5/v7/v9, IPFIX or sFlow v5 datagrams with
tshark (Wireshark's cflow and sflow dissectors, not our decoders) and writes
one golden JSON document: every flow record (exporter/agent, addresses,
ports, protocol, ToS, bytes, packets, sampling rate, ifIndexes) and, per
device and interface, the in/out byte and packet totals the flow handler
reports (sFlow scaled by the sampling rate, compat section 2.7).

    flow.py --capture FILE --proto netflow|sflow [--port N] --out GOLDEN.json

Standard library only; needs tshark on PATH.

Semantics (compat sections 1.4 and 2.7, and our deliberate fixes of quirk 9):
  * NetFlow device = IP source of the datagram; sFlow device = agent address.
  * Templates are tshark's (it keys them per exporter and domain, like us).
    Records of options data sets (exporter metadata) are not flows.
  * An sFlow flow sample is one record: the first raw-header or sampled
    IPv4/IPv6 element gives addresses and ports (ICMP type/code as ports);
    bytes = frame length (raw header) or IP length (keyed element);
    packets = 1. An ifIndex counts when its format is 0.
  * Handler totals: a record with an input ifIndex counts "in" on it, with
    an output ifIndex "out" on it; sFlow bytes and packets are multiplied by
    the sampling rate.
"""

import argparse
import json
import subprocess
import sys


def tshark(capture, decode_as):
    cmd = ["tshark", "-n", "-r", capture, "-T", "json", "--no-duplicate-keys"]
    for d in decode_as:
        cmd += ["-d", d]
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    return json.loads(out)


def first(v):
    if isinstance(v, list):
        return v[0]
    return v


def num(v, default=None):
    if v is None:
        return default
    v = first(v)
    return int(v, 0) if isinstance(v, str) else int(v)


def children(d, prefix):
    for k, v in d.items():
        if k.startswith(prefix) and isinstance(v, dict):
            yield k, v
        elif k.startswith(prefix) and isinstance(v, list):
            for x in v:
                if isinstance(x, dict):
                    yield k, x


def netflow_records(frames):
    recs = []
    options = set()  # (device, domain, template id) of options templates
    datagrams = 0
    for fr in frames:
        layers = fr["_source"]["layers"]
        if "cflow" not in layers:
            continue
        datagrams += 1
        dev = first(layers["ip"]["ip.src"]) if "ip" in layers else first(layers["ipv6"]["ipv6.src"])
        c = layers["cflow"]
        domain = num(c.get("cflow.source_id", c.get("cflow.od_id")), 0)
        for name, s in children(c, "FlowSet") if "FlowSet" in str(list(c.keys())) else children(c, "Set"):
            sid = num(s.get("cflow.flowset_id"), -1)
            if "Options Template" in name:
                for tid in name.split(":", 1)[1].split(","):
                    options.add((dev, domain, int(tid)))
            if sid < 256 and sid != -1:
                continue
            opt = (dev, domain, sid) in options
            for _, f in children(s, "Flow "):
                if opt:
                    continue
                recs.append(nf_record(dev, f))
        # v1/v5/v7: flows sit directly under cflow ("pdu" subtrees).
        for _, f in children(c, "pdu"):
            recs.append(nf_record(dev, f))
    return datagrams, recs


def nf_record(dev, f):
    src = first(f.get("cflow.srcaddr", f.get("cflow.srcaddrv6")))
    dst = first(f.get("cflow.dstaddr", f.get("cflow.dstaddrv6")))
    return {
        "device": dev,
        "src": src,
        "dst": dst,
        "src_port": num(f.get("cflow.srcport"), 0),
        "dst_port": num(f.get("cflow.dstport"), 0),
        "proto": num(f.get("cflow.protocol"), 0),
        "tos": num(f.get("cflow.tos"), 0),
        "bytes": num(f.get("cflow.octets"), 0),
        "packets": num(f.get("cflow.packets"), 0),
        "sample_rate": 0,
        "in_if": num(f.get("cflow.inputint")),
        "out_if": num(f.get("cflow.outputint")),
    }


def sflow_if(s, which):
    """(ifIndex or None) from a flow sample's input/output interface."""
    p = "sflow.flow_sample." + which + "_interface"
    tree = s.get(p + "_tree", {})
    if p + "_format" in tree:
        fmt, val = num(tree[p + "_format"]), num(tree[p + "_value"])
    elif p + "_format" in s:  # expanded sample
        fmt, val = num(s[p + "_format"]), num(s[p + "_value"])
    elif p in s:
        v = num(s[p])
        fmt, val = v >> 30, v & 0x3FFFFFFF
    else:
        ef = "sflow_5." + which + "_interface"
        return None
    return val if fmt == 0 else None


def sflow_records(frames):
    recs = []
    datagrams = 0
    for fr in frames:
        layers = fr["_source"]["layers"]
        if "sflow" not in layers:
            continue
        datagrams += 1
        sf = layers["sflow"]
        dev = first(sf.get("sflow_245.agent", sf.get("sflow_245.agentv6")))
        for name, s in children(sf, ""):
            if not (name.startswith("Flow sample") or name.startswith("Expanded flow sample")):
                continue
            rate = num(s.get("sflow.flow_sample.sampling_rate", s.get("sflow_245.sampling_rate")), 0)
            r = {"device": dev, "src": None, "dst": None, "src_port": 0, "dst_port": 0, "proto": 0, "tos": 0,
                 "bytes": 0, "packets": 1, "sample_rate": rate,
                 "in_if": sflow_if(s, "input"), "out_if": sflow_if(s, "output")}
            for ename, e in children(s, ""):
                fmt = num(e.get("sflow_245.flow_record_format"))
                if fmt == 1:
                    r["bytes"] = num(e.get("sflow_245.header.frame_length"), 0)
                    h = e.get("sflow_245.header_tree", {})
                    ip = h.get("ip") or h.get("ipv6")
                    if ip is None:
                        continue
                    if "ip" in h:
                        r["src"], r["dst"] = first(ip["ip.src"]), first(ip["ip.dst"])
                        r["proto"] = num(ip.get("ip.proto"), 0)
                        r["tos"] = num(ip.get("ip.dsfield"), 0)
                    else:
                        r["src"], r["dst"] = first(ip["ipv6.src"]), first(ip["ipv6.dst"])
                        r["proto"] = num(ip.get("ipv6.nxt"), 0)
                        r["tos"] = num(ip.get("ipv6.tclass"), 0)
                    if "udp" in h:
                        r["src_port"], r["dst_port"] = num(h["udp"]["udp.srcport"]), num(h["udp"]["udp.dstport"])
                    elif "tcp" in h:
                        r["src_port"], r["dst_port"] = num(h["tcp"]["tcp.srcport"]), num(h["tcp"]["tcp.dstport"])
                    elif "icmp" in h:
                        r["src_port"], r["dst_port"] = num(h["icmp"]["icmp.type"]), num(h["icmp"]["icmp.code"])
                    elif "icmpv6" in h:
                        r["src_port"], r["dst_port"] = num(h["icmpv6"]["icmpv6.type"]), num(h["icmpv6"]["icmpv6.code"])
                    break
                if fmt in (3, 4):
                    v = "ipv4" if fmt == 3 else "ipv6"
                    r["bytes"] = num(e.get("sflow_245.ip.length"), 0)
                    r["proto"] = num(e.get("sflow.ip_protocol"), 0)
                    r["src"], r["dst"] = first(e["sflow_245." + v + "_src"]), first(e["sflow_245." + v + "_dst"])
                    r["src_port"] = num(e.get("sflow_245.ip.source_port"), 0)
                    r["dst_port"] = num(e.get("sflow.ip.destination_port"), 0)
                    r["tos"] = None  # tshark splits the ToS word into bits; not compared
                    break
            recs.append(r)
    return datagrams, recs


def totals(recs):
    out = {}
    for r in recs:
        d = out.setdefault(r["device"], {"records": 0, "interfaces": {}})
        d["records"] += 1
        scale = r["sample_rate"] if r["sample_rate"] > 1 else 1
        for which, key in (("in", "in_if"), ("out", "out_if")):
            if r[key] is None:
                continue
            i = d["interfaces"].setdefault(str(r[key]), {"in_bytes": 0, "in_packets": 0, "out_bytes": 0, "out_packets": 0})
            i[which + "_bytes"] += r["bytes"] * scale
            i[which + "_packets"] += r["packets"] * scale
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--proto", choices=["netflow", "sflow"], required=True)
    ap.add_argument("--port", type=int, action="append", default=[])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    dissector = "cflow" if a.proto == "netflow" else "sflow"
    frames = tshark(a.capture, ["udp.port==%d,%s" % (p, dissector) for p in a.port])
    if a.proto == "netflow":
        n, recs = netflow_records(frames)
    else:
        n, recs = sflow_records(frames)
    doc = {"capture": a.capture.rsplit("/", 1)[-1], "proto": a.proto, "datagrams": n,
           "records": recs, "totals": totals(recs)}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
