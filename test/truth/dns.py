#!/usr/bin/env python3
"""Independent truth for the dns handlers (pktvisor schema "dns", v1 and v2).

Reads a capture with tshark (Wireshark's DNS dissector, not our decoder) and
derives, with pktvisor's semantics, the counters and exact top-N / distinct
values the dns handlers report, for one host_spec. Writes one golden JSON.

    dns.py --capture FILE [--host-spec CIDR,...] --out GOLDEN.json

Standard library only. Needs tshark on PATH.

Where tshark's packet view differs from pktvisor's, this script follows
pktvisor and says so here:

  * pktvisor counts DNS *messages*: one per UDP datagram, and one per
    length-prefixed message of a reassembled TCP stream (several may share
    a segment, one may span several). UDP messages come from tshark's DNS
    dissector. For TCP, tshark's own desegmentation disagrees with a
    reassembler on lossy captures: in dns_udp_tcp_random.pcap 27 replies
    whose original segment was not captured arrive only as a retransmission
    that fills the hole; tshark dissects the out-of-order segment after the
    hole alone and never the retransmission, so it misses those replies. So
    this script takes only the TCP *payload bytes and sequence numbers* from
    tshark (desegmentation off), reassembles each direction by sequence
    number (each byte once: retransmissions count once, out-of-order
    segments are placed where they belong, a hole that is never filled ends
    the side), cuts messages at their 2-byte length prefixes (a prefix below
    12 abandons the side) and reads the DNS header and first question
    itself.
  * DNS ports: pktvisor recognises 53, 5353, 5355 and 53000; tshark decodes
    53000 and 5355 as DNS only when told (-d), and 5353/5355 as mDNS/LLMNR
    whose fields are still dns.*.
  * IP fragments: tshark reassembles fragmented datagrams and dissects the
    DNS message once, in the last fragment; pktvisor (and we) do not
    reassemble IP: the first fragment carries the UDP header and the start of
    the message, which counts by its header and question, and later fragments
    carry no UDP header and count nothing. The message count agrees; what
    only the tail of the message holds (answers, the OPT record and its ECS)
    is lost in our view, so nodata/ECS facts of fragmented messages are
    not compared (listed under "fragmented" in the golden).
  * Query names: lower-cased (A-Z only), no trailing dot, the root is ".".
  * rcode: the 4-bit header rcode; names as pktvisor spells them (SRVFAIL).
  * Transactions: a query opens (flow, DNS id) — flow = the UDP 5-tuple or
    the TCP connection (tcp.stream); a reply within 5 s closes it
    (xact.total), a later one is timed out. A reply toward the host is an
    "out" transaction (host is client), a reply from the host an "in" one.
    A repeated query with the same key restarts the transaction.
  * Everything is deep-sampled (deep_sample_rate 100).
"""

import argparse
import ipaddress
import json
import subprocess
import sys

DNS_PORTS = {53, 5353, 5355, 53000}
XACT_TTL = 5.0

FIELDS = [
    "frame.number", "frame.time_epoch",
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "tcp.stream",
    "tcp.analysis.retransmission", "ip.flags.mf", "ip.frag_offset",
    "dns.id", "dns.flags.response", "dns.flags.rcode", "dns.count.queries",
    "dns.qry.name", "dns.qry.type", "dns.count.answers",
]

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SRVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 11: "DSOTYPENI"}
QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA",
          33: "SRV", 35: "NAPTR", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 52: "TLSA",
          64: "SVCB", 65: "HTTPS", 99: "SPF", 252: "AXFR", 255: "ANY", 257: "CAA"}


def tshark_rows(path):
    cmd = ["tshark", "-n", "-r", path, "-Y", "dns && !tcp",
           "-d", "udp.port==53000,dns", "-d", "tcp.port==53000,dns",
           "-d", "udp.port==5355,dns", "-d", "tcp.port==5355,dns",
           "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        yield dict(zip(FIELDS, line.split("\t")))


def first(v):
    return v.split("|")[0] if v else ""


def norm_name(n):
    if n in ("<Root>", ""):
        return "."
    n = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in n)
    return n[:-1] if len(n) > 1 and n.endswith(".") else n


def aggregate(name, suffix_len=0):
    """pktvisor's aggregateDomain (compat doc 2.4)."""
    if len(name) < 5:
        return name, ""
    end = len(name) - 1
    if name[end] == ".":
        end -= 1
    if 0 < suffix_len < len(name):
        end = len(name) - suffix_len
    first_dot = name.rfind(".", 0, end + 1)
    if first_dot <= 0:
        return name, name
    second = name.rfind(".", 0, first_dot)
    if second < 0:
        return name, ""
    q2, q3 = name[second:], name
    if second > 0:
        third = name.rfind(".", 0, second)
        if third >= 0:
            q3 = name[third:]
    return q2, q3


def inc(d, k, n=1):
    d[k] = d.get(k, 0) + n


def tcp_segments(path):
    cmd = ["tshark", "-n", "-r", path, "-Y", "tcp.len > 0",
           "-o", "tcp.desegment_tcp_streams:FALSE", "-o", "tcp.relative_sequence_numbers:TRUE",
           "-T", "fields", "-E", "occurrence=f", "-E", "separator=\t"]
    for f in ["frame.time_epoch", "tcp.stream", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
              "tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.payload"]:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        v = line.split("\t")
        yield {"ts": float(v[0]), "stream": v[1], "v6": not v[2], "src": v[2] or v[4], "dst": v[3] or v[5],
               "sport": int(v[6]), "dport": int(v[7]), "seq": int(v[8]),
               "data": bytes.fromhex(v[9].replace(":", ""))}


def parse_dns(b):
    """Header and first question of a DNS message (None if < 12 bytes)."""
    if len(b) < 12:
        return None
    mid = int.from_bytes(b[0:2], "big")
    flags = int.from_bytes(b[2:4], "big")
    qd = int.from_bytes(b[4:6], "big")
    an = int.from_bytes(b[6:8], "big")
    m = {"id": mid, "resp": bool(flags & 0x8000), "rcode": flags & 0xF, "nans": an, "name": None, "qtype": None}
    if qd == 0:
        return m
    off, labels = 12, []
    while off < len(b):
        n = b[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0:
            return m  # a compressed question name: not in these captures
        labels.append(b[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    else:
        return m
    if off + 4 > len(b):
        return m
    m["name"] = norm_name(".".join(labels) if labels else "<Root>")
    m["qtype"] = int.from_bytes(b[off:off + 2], "big")
    return m


def tcp_messages(path):
    sides = {}
    for seg in tcp_segments(path):
        key = (seg["stream"], seg["src"], seg["sport"])
        sides.setdefault(key, {"segs": [], "meta": seg})["segs"].append(seg)
    for key, side in sides.items():
        segs = sorted(side["segs"], key=lambda x: (x["seq"], x["ts"]))
        # Place bytes by sequence number; each byte once (first copy wins,
        # as a retransmission carries the same bytes).
        start = segs[0]["seq"]
        nxt, buf, done_ts = start, bytearray(), []
        for sg in segs:
            if sg["seq"] > nxt:
                break  # a hole never filled ends what can be framed
            new = sg["data"][nxt - sg["seq"]:]
            if new:
                buf += new
                done_ts.append((len(buf), sg["ts"]))
                nxt += len(new)
        meta = side["meta"]
        off = 0
        while off + 2 <= len(buf):
            n = int.from_bytes(buf[off:off + 2], "big")
            if n < 12 or off + 2 + n > len(buf):
                break
            end = off + 2 + n
            ts = next(t for (l, t) in done_ts if l >= end)
            m = parse_dns(bytes(buf[off + 2:end]))
            off = end
            m.update({"ts": ts, "tcp": True, "v6": meta["v6"], "src": meta["src"], "dst": meta["dst"],
                      "sport": meta["sport"], "dport": meta["dport"], "flow": ("tcp", meta["stream"])})
            yield m


def udp_messages(path):
    for r in tshark_rows(path):
        sport = int(first(r["udp.srcport"]) or 0)
        dport = int(first(r["udp.dstport"]) or 0)
        v6 = bool(r["ipv6.src"]) and not r["ip.src"]
        src = first(r["ipv6.src"] if v6 else r["ip.src"])
        dst = first(r["ipv6.dst"] if v6 else r["ip.dst"])
        ts = float(r["frame.time_epoch"])
        ids = r["dns.id"].split("|")
        resp = r["dns.flags.response"].split("|")
        rcodes = r["dns.flags.rcode"].split("|")
        qcounts = r["dns.count.queries"].split("|")
        names = r["dns.qry.name"].split("|") if r["dns.qry.name"] else []
        qtypes = r["dns.qry.type"].split("|") if r["dns.qry.type"] else []
        answers = r["dns.count.answers"].split("|")
        frag = (r["ip.frag_offset"] and first(r["ip.frag_offset"]) not in ("", "0")) or \
            first(r["ip.flags.mf"]) in ("1", "True")
        ni = 0
        for i, mid in enumerate(ids):
            qn = int(qcounts[i]) if i < len(qcounts) and qcounts[i] else 0
            name = norm_name(names[ni]) if qn > 0 and ni < len(names) else None
            qtype = int(qtypes[ni]) if qn > 0 and ni < len(qtypes) else None
            ni += qn
            ends = sorted([(src, sport), (dst, dport)])
            yield {"id": int(mid, 16) if mid.startswith("0x") else int(mid),
                   "resp": resp[i] in ("1", "True"),
                   "rcode": int(rcodes[i]) if i < len(rcodes) and rcodes[i] else 0,
                   "nans": int(answers[i]) if i < len(answers) and answers[i] else 0,
                   "name": name, "qtype": qtype, "ts": ts, "tcp": False, "v6": v6, "src": src, "dst": dst,
                   "sport": sport, "dport": dport, "flow": ("udp",) + tuple(ends), "frag": bool(frag)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--host-spec", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    hosts = [ipaddress.ip_network(h, strict=False) for h in a.host_spec.split(",") if h]

    def is_host(addr):
        if not addr:
            return False
        ip = ipaddress.ip_address(addr)
        return not ip.is_unspecified and any(ip.version == n.version and ip in n for n in hosts)

    c = {k: 0 for k in ["total", "queries", "replies", "udp", "tcp", "ipv4", "ipv6", "noerror", "nxdomain",
                        "srvfail", "refused", "nodata"]}
    x = {"total": 0, "in": 0, "out": 0, "timed_out": 0}
    x2 = {d: {"xacts": 0, "orphans": 0, "timeouts": 0} for d in ("in", "out", "unknown")}
    tops = {k: {} for k in ["qtype", "rcode", "qname2", "qname3", "nxdomain", "refused", "srvfail", "nodata",
                            "noerror", "udp_ports"]}
    qnames = set()
    opened, opened2 = {}, {}
    fragmented = 0
    msgs = list(udp_messages(a.capture)) + list(tcp_messages(a.capture))
    msgs.sort(key=lambda m: m["ts"])
    for m in msgs:
        if not (m["sport"] in DNS_PORTS or m["dport"] in DNS_PORTS):
            continue
        port = m["sport"] if m["dport"] in DNS_PORTS else m["dport"]
        fragmented += 1 if m.get("frag") else 0
        name, is_resp, rcode, nans = m["name"], m["resp"], m["rcode"], m["nans"]
        c["total"] += 1
        c["tcp" if m["tcp"] else "udp"] += 1
        c["ipv6" if m["v6"] else "ipv4"] += 1
        inc(tops["udp_ports"], str(port))
        if is_resp:
            c["replies"] += 1
            inc(tops["rcode"], RCODES.get(rcode, str(rcode)))
            if rcode == 0:
                c["noerror"] += 1
                if nans == 0:
                    c["nodata"] += 1
            elif rcode == 2:
                c["srvfail"] += 1
            elif rcode == 3:
                c["nxdomain"] += 1
            elif rcode == 5:
                c["refused"] += 1
        else:
            c["queries"] += 1
        if name is not None:
            qnames.add(name)
            inc(tops["qtype"], QTYPES.get(m["qtype"], str(m["qtype"])))
            if is_resp:
                k = {0: "noerror", 2: "srvfail", 3: "nxdomain", 5: "refused"}.get(rcode)
                if k:
                    inc(tops[k], name)
                if rcode == 0 and nans == 0:
                    inc(tops["nodata"], name)
            q2, q3 = aggregate(name)
            inc(tops["qname2"], q2)
            if q3:
                inc(tops["qname3"], q3)
        # v1 transactions: one table; direction of the reply decides.
        key = (m["flow"], m["id"])
        if not is_resp:
            opened[key] = m["ts"]
        elif key in opened:
            start = opened.pop(key)
            if m["ts"] - start > XACT_TTL:
                x["timed_out"] += 1
            else:
                x["total"] += 1
                if is_host(m["dst"]):
                    x["out"] += 1
                elif is_host(m["src"]):
                    x["in"] += 1
        # v2 transactions: one table per transaction direction.
        if is_resp:
            d = "out" if is_host(m["dst"]) else "in" if is_host(m["src"]) else "unknown"
        else:
            d = "in" if is_host(m["dst"]) else "out" if is_host(m["src"]) else "unknown"
        k2 = (d,) + key
        if not is_resp:
            opened2[k2] = m["ts"]
        elif k2 in opened2:
            start = opened2.pop(k2)
            x2[d]["timeouts" if m["ts"] - start > XACT_TTL else "xacts"] += 1
        else:
            x2[d]["orphans"] += 1
    golden = {
        "capture": a.capture.rsplit("/", 1)[-1],
        "host_spec": a.host_spec,
        "counts": c,
        "xact": x,
        "xact_v2": x2,
        "cardinality_qname": len(qnames),
        "tops": tops,
        "fragmented": fragmented,
    }
    with open(a.out, "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
