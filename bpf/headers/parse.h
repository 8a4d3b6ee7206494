/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bounded header parser shared by the XDP and TC programs: Ethernet, up to two
 * VLAN tags (802.1Q / 802.1ad), IPv4 (options, fragments), IPv6 (up to
 * MAX_V6_EXT extension headers), UDP, TCP and ICMP/ICMPv6. It never reads
 * past data_end; whatever it cannot parse is flagged PF_MALFORMED and the
 * packet is still counted.
 */
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define L3_OTHER 0
#define L3_IPV4 1
#define L3_IPV6 2

/* pkt_info.flags, also carried in meta.pflags */
#define PF_FRAG 0x01      /* any fragment, first included */
#define PF_LATER_FRAG 0x02 /* non-first fragment: no L4 header */
#define PF_PORTS 0x04     /* sport/dport are valid */
#define PF_SYN 0x08
#define PF_MALFORMED 0x10 /* a header was cut short or invalid */
#define PF_DNS 0x20
#define PF_ADDRS 0x40     /* saddr/daddr are valid */

#define MAX_VLAN 2
#define MAX_V6_EXT 6
/* No header we parse starts beyond this offset; keeps the verifier's packet ranges bounded. */
#define MAX_L4_OFF 1024

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60

struct pkt_info {
	__u32 saddr[4]; /* network byte order; IPv4 uses [0] */
	__u32 daddr[4];
	__u16 sport; /* host byte order */
	__u16 dport;
	__u8 l3;
	__u8 l4proto; /* IP protocol / final next header */
	__u8 flags;
};

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

struct v6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

static __always_inline void parse_l4(void *data, void *data_end, __u32 off, struct pkt_info *pi)
{
	if (off > MAX_L4_OFF) {
		pi->flags |= PF_MALFORMED;
		return;
	}
	if (pi->l4proto == IPPROTO_UDP) {
		struct udphdr *udp = data + off;
		if ((void *)(udp + 1) > data_end) {
			pi->flags |= PF_MALFORMED;
			return;
		}
		pi->sport = bpf_ntohs(udp->source);
		pi->dport = bpf_ntohs(udp->dest);
		pi->flags |= PF_PORTS;
	} else if (pi->l4proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + off;
		if ((void *)(tcp + 1) > data_end) {
			pi->flags |= PF_MALFORMED;
			return;
		}
		pi->sport = bpf_ntohs(tcp->source);
		pi->dport = bpf_ntohs(tcp->dest);
		pi->flags |= PF_PORTS;
		if (tcp->syn)
			pi->flags |= PF_SYN;
	}
}

static __always_inline void parse_ipv4(void *data, void *data_end, __u32 off, struct pkt_info *pi)
{
	struct iphdr *ip = data + off;

	pi->l3 = L3_IPV4;
	if ((void *)(ip + 1) > data_end) {
		pi->flags |= PF_MALFORMED;
		return;
	}
	__u32 ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip)) {
		pi->flags |= PF_MALFORMED;
		return;
	}
	pi->saddr[0] = ip->saddr;
	pi->daddr[0] = ip->daddr;
	pi->l4proto = ip->protocol;
	pi->flags |= PF_ADDRS;

	__u16 frag = bpf_ntohs(ip->frag_off);
	if (frag & 0x3fff) { /* MF or a fragment offset */
		pi->flags |= PF_FRAG;
		if (frag & 0x1fff) {
			pi->flags |= PF_LATER_FRAG;
			return;
		}
	}
	parse_l4(data, data_end, off + ihl, pi);
}

static __always_inline void parse_ipv6(void *data, void *data_end, __u32 off, struct pkt_info *pi)
{
	struct ipv6hdr *ip6 = data + off;

	pi->l3 = L3_IPV6;
	if ((void *)(ip6 + 1) > data_end) {
		pi->flags |= PF_MALFORMED;
		return;
	}
	__builtin_memcpy(pi->saddr, &ip6->saddr, 16);
	__builtin_memcpy(pi->daddr, &ip6->daddr, 16);
	pi->flags |= PF_ADDRS;

	__u8 nh = ip6->nexthdr;
	off += sizeof(*ip6);

#pragma unroll
	for (int i = 0; i < MAX_V6_EXT; i++) {
		if (off > MAX_L4_OFF) {
			pi->l4proto = nh;
			pi->flags |= PF_MALFORMED;
			return;
		}
		if (nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING || nh == NEXTHDR_DEST || nh == NEXTHDR_AUTH) {
			struct ipv6_opt_hdr *eh = data + off;
			if ((void *)(eh + 1) > data_end) {
				pi->l4proto = nh;
				pi->flags |= PF_MALFORMED;
				return;
			}
			/* AH counts its length in 4-octet units minus 2, the others in 8-octet units minus 1. */
			__u32 len = nh == NEXTHDR_AUTH ? (eh->hdrlen + 2) * 4 : (eh->hdrlen + 1) * 8;
			nh = eh->nexthdr;
			off += len;
		} else if (nh == NEXTHDR_FRAGMENT) {
			struct v6_frag *fh = data + off;
			if ((void *)(fh + 1) > data_end) {
				pi->l4proto = nh;
				pi->flags |= PF_MALFORMED;
				return;
			}
			nh = fh->nexthdr;
			pi->flags |= PF_FRAG;
			if (bpf_ntohs(fh->frag_off) & 0xfff8) {
				pi->l4proto = nh;
				pi->flags |= PF_LATER_FRAG;
				return;
			}
			off += sizeof(*fh);
		} else {
			break;
		}
	}
	pi->l4proto = nh;
	parse_l4(data, data_end, off, pi);
}

static __always_inline void parse_packet(void *data, void *data_end, struct pkt_info *pi)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);

	if ((void *)(eth + 1) > data_end) {
		pi->flags |= PF_MALFORMED;
		return;
	}
	__be16 proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < MAX_VLAN; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_tag *tag = data + off;
		if ((void *)(tag + 1) > data_end) {
			pi->flags |= PF_MALFORMED;
			return;
		}
		proto = tag->proto;
		off += sizeof(*tag);
	}

	if (proto == bpf_htons(ETH_P_IP))
		parse_ipv4(data, data_end, off, pi);
	else if (proto == bpf_htons(ETH_P_IPV6))
		parse_ipv6(data, data_end, off, pi);
}
