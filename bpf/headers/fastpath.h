/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-packet logic shared by the XDP and TC programs: direction from the host
 * set, DNS-port classification, per-flow sampling and exact counting.
 */
#pragma once

#include "maps.h"
#include "parse.h"

#ifndef IPPROTO_ICMP
#define IPPROTO_ICMP 1
#endif

static __always_inline __u8 host_direction(const struct config *cfg, const struct pkt_info *pi)
{
	if (!(pi->flags & PF_ADDRS))
		return DIR_UNKNOWN;
	if (pi->l3 == L3_IPV4 && (cfg->flags & CFG_HOST_V4)) {
		struct lpm_v4_key k = {.prefixlen = 32, .addr = pi->daddr[0]};
		if (bpf_map_lookup_elem(&host_v4, &k))
			return DIR_IN;
		k.addr = pi->saddr[0];
		if (bpf_map_lookup_elem(&host_v4, &k))
			return DIR_OUT;
	} else if (pi->l3 == L3_IPV6 && (cfg->flags & CFG_HOST_V6)) {
		struct lpm_v6_key k = {.prefixlen = 128};
		__builtin_memcpy(k.addr, pi->daddr, 16);
		if (bpf_map_lookup_elem(&host_v6, &k))
			return DIR_IN;
		__builtin_memcpy(k.addr, pi->saddr, 16);
		if (bpf_map_lookup_elem(&host_v6, &k))
			return DIR_OUT;
	}
	return DIR_UNKNOWN;
}

static __always_inline int builtin_dns_port(__u16 p)
{
	return p == 53 || p == 5353 || p == 5355 || p == 53000;
}

static __always_inline int dns_port(const struct config *cfg, const struct pkt_info *pi)
{
	if (!(pi->flags & PF_PORTS))
		return 0;
	if (builtin_dns_port(pi->sport) || builtin_dns_port(pi->dport))
		return 1;
	if (!(cfg->flags & CFG_EXTRA_DNS))
		return 0;
	__u16 p = pi->sport;
	if (bpf_map_lookup_elem(&dns_ports, &p))
		return 1;
	p = pi->dport;
	return bpf_map_lookup_elem(&dns_ports, &p) != NULL;
}

static __always_inline __u32 mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/*
 * Symmetric flow hash: the endpoints are put in a canonical order before
 * mixing, so both directions of a flow get the same value. Fragments hash
 * without ports so every fragment of a datagram shares the decision.
 */
static __always_inline __u32 flow_hash(const struct pkt_info *pi, __u32 seed)
{
	__u32 a = pi->saddr[0] ^ pi->saddr[1] ^ pi->saddr[2] ^ pi->saddr[3];
	__u32 b = pi->daddr[0] ^ pi->daddr[1] ^ pi->daddr[2] ^ pi->daddr[3];
	__u32 pa = 0, pb = 0;

	if ((pi->flags & PF_PORTS) && !(pi->flags & PF_FRAG)) {
		pa = pi->sport;
		pb = pi->dport;
	}
	if (a > b || (a == b && pa > pb)) {
		__u32 t = a;
		a = b;
		b = t;
		t = pa;
		pa = pb;
		pb = t;
	}
	__u32 h = mix32(seed ^ a);
	h = mix32(h ^ b);
	h = mix32(h ^ ((pa << 16) | pb));
	return mix32(h ^ pi->l4proto);
}

static __always_inline __u8 sample_packet(const struct config *cfg, const struct pkt_info *pi)
{
	__u32 rate = cfg->sample_rate;

	if (rate >= 100)
		return 1;
	if (rate == 0)
		return 0;
	/* Non-IP frames have no flow: sample them one by one. */
	__u32 h = pi->l3 == L3_OTHER ? bpf_get_prandom_u32() : flow_hash(pi, cfg->hash_seed);
	return h % 100 < rate;
}

static __always_inline void build_meta(struct meta *m, const struct config *cfg, struct pkt_info *pi, __u32 len)
{
	if (dns_port(cfg, pi))
		pi->flags |= PF_DNS;
	m->len = len;
	m->verdict = 0;
	m->dir = host_direction(cfg, pi);
	m->l3 = pi->l3;
	m->l4proto = pi->l4proto;
	m->pflags = pi->flags;
	m->sample = sample_packet(cfg, pi);
}

/* Category counters: everything but the fate. */
static __always_inline void count_meta(struct counters *c, const struct meta *m)
{
	c->packets++;
	c->bytes += m->len;
	if (m->l3 == L3_IPV4)
		c->l3_ipv4++;
	else if (m->l3 == L3_IPV6)
		c->l3_ipv6++;
	else
		c->l3_other++;
	if (m->l3 != L3_OTHER) {
		if (m->pflags & PF_MALFORMED && !(m->pflags & PF_ADDRS))
			c->l4_other++; /* the IP header itself was cut: no protocol known */
		else if (m->l4proto == IPPROTO_UDP)
			c->l4_udp++;
		else if (m->l4proto == IPPROTO_TCP)
			c->l4_tcp++;
		else if (m->l4proto == IPPROTO_ICMP || m->l4proto == IPPROTO_ICMPV6)
			c->l4_icmp++;
		else
			c->l4_other++;
	}
	if (m->pflags & PF_FRAG)
		c->fragments++;
	if (m->pflags & PF_DNS)
		c->dns_port++;
	if (m->pflags & PF_SYN)
		c->tcp_syn++;
	if (m->pflags & PF_MALFORMED)
		c->malformed++;
}

static __always_inline struct counters *counter_slot(__u32 slot)
{
	return bpf_map_lookup_elem(&stats, &slot);
}

static __always_inline struct config *get_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&cfg, &zero);
}

static __always_inline struct meta *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}
