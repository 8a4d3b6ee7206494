// Package bpf holds the agent's kernel fast path: the XDP and TC programs
// (xdp.c, tc.c, headers/), their bpf2go-generated loaders (committed, so
// building needs no clang; regenerate with `go generate ./bpf`) and the Go API
// that configures them and reads their counters. Packet sources (AF_XDP, TC
// ring buffer) are built on top of this package elsewhere.
//
// # Per packet, in the kernel
//
//  1. Parse (a global BPF function, verified once): Ethernet, up to two VLAN
//     tags, IPv4 with options and fragments, IPv6 with up to six extension
//     headers, UDP, TCP, ICMP/ICMPv6. Truncated headers set "malformed"; the
//     packet is still counted.
//  2. Direction from the host set (two LPM tries): destination inside ⇒ in,
//     else source inside ⇒ out, else unknown (TC may fall back to the hook
//     side, Options.DirectionFromHook).
//  3. Sampling decision: a symmetric hash of the 5-tuple (ports left out for
//     fragments, so a datagram's fragments stay together) mod 100 < rate, so
//     both directions of a flow share the decision; non-IP frames are
//     sampled one by one. The rate lives in the config map and can change at
//     runtime (SetSampleRate).
//  4. Exact counters, before any filter or sampling, in a per-CPU array with
//     one slot per direction (Totals.Seen).
//  5. Without a filter: the fate. XDP redirects sampled frames to the AF_XDP
//     socket of the RX queue (XSKMap) and gives the rest the default action
//     (drop on a dedicated capture port, or pass); TC copies sampled frames,
//     up to the snap length, into a ring buffer (RecordHeader + bytes) and
//     always returns TC_ACT_UNSPEC, so the host's traffic is never touched.
//
// # Filters: tail calls
//
// A tcpdump filter arrives as classic BPF and is translated to eBPF by
// package cbpf. Because it is built at run time it cannot be linked into the
// compiled object, so it runs as its own program reached by tail call:
//
//	main (parse, count) ──tail call progs[0]──▶ filter (translated cBPF)
//	filter writes its verdict into the per-CPU scratch map
//	filter ──tail call progs[1]──▶ deliver (C): filtered, or count into the
//	Matched slots and sample/redirect/copy as main would have
//
// main stores the packet's summary (struct meta) in scratch before the first
// tail call; one packet's chain runs on one CPU without interruption, so the
// scratch entry cannot be overwritten in between. A failed tail call counts
// as internal_error. Without a filter nothing is tail-called.
//
// Every packet ends with exactly one fate counter (filtered, sampled,
// not_sampled, deliver_failed, internal_error), so in Totals.AllSeen() the
// fates add up to Packets. An XDP "sampled" packet was redirected; whether
// its AF_XDP ring had room shows in the socket's XDP_STATISTICS, not here.
//
// # Limits
//
// TC sees offloaded VLAN tags in the record header (RecordVLAN), not in the
// frame, so a filter with "vlan" does not match them on TC. Ring records are
// reserved in size classes up to MaxSnapLen (9216) bytes; GSO packets on TC
// are one (large) packet. Classic ancillary loads other than the length
// (SKF_AD_*) are rejected by the translator.
package bpf
