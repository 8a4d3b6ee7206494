/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Structures shared by the kernel programs and, through bpf2go -type, by the
 * Go loader. Changing a layout here changes the generated Go type too, so the
 * two cannot drift; keep every field naturally aligned so no hidden padding
 * differs between C and Go.
 */
#pragma once

#include <linux/types.h>

/* Direction of a packet relative to the host set (host_spec). */
enum visor_direction {
	DIR_UNKNOWN = 0,
	DIR_IN = 1,
	DIR_OUT = 2,
	DIR_COUNT = 3,
};

/*
 * The counters map has DIR_COUNT slots for every packet seen (before the
 * filter) followed by DIR_COUNT slots for packets the filter matched. The
 * second half is only written when a filter is loaded.
 */
#define SLOT_MATCHED DIR_COUNT
#define COUNTER_SLOTS (2 * DIR_COUNT)

/*
 * One slot of exact per-CPU counters. Every packet increments exactly one
 * slot (its direction) and, within it, packets/bytes, one L3 counter, one
 * L4 counter if it is IP, and exactly one fate counter (filtered, sampled,
 * not_sampled, deliver_failed or internal_error).
 */
struct counters {
	__u64 packets;
	__u64 bytes;
	__u64 l3_ipv4;
	__u64 l3_ipv6;
	__u64 l3_other;
	__u64 l4_udp;
	__u64 l4_tcp;
	__u64 l4_icmp;
	__u64 l4_other;
	__u64 fragments;
	__u64 dns_port;
	__u64 tcp_syn;
	__u64 malformed;
	__u64 filtered;
	__u64 sampled;
	__u64 not_sampled;
	__u64 deliver_failed;
	__u64 internal_error;
};

/* config.flags */
#define CFG_FILTER 0x1        /* a filter program sits in progs[PROG_FILTER] */
#define CFG_DIR_FROM_HOOK 0x2 /* TC: unknown direction falls back to the hook side */
#define CFG_HOST_V4 0x4       /* host_v4 has entries */
#define CFG_HOST_V6 0x8       /* host_v6 has entries */
#define CFG_EXTRA_DNS 0x10    /* dns_ports has entries */
#define CFG_FRAGS 0x20        /* XDP: loaded with BPF_F_XDP_HAS_FRAGS, frames may be multi-buffer */

/* Runtime configuration: single entry of the config ARRAY map. */
struct config {
	__u32 sample_rate;        /* percent, 0..100, per flow */
	__u32 snaplen;            /* TC: bytes copied into the ring buffer */
	__u32 flags;              /* CFG_* */
	__u32 wakeup_bytes;       /* TC: force a wakeup once this much is pending; 0 = kernel default */
	__u32 xdp_default_action; /* XDP: verdict for frames not redirected (XDP_DROP or XDP_PASS) */
	__u32 hash_seed;          /* flow hash seed */
};

/* Per-packet summary handed from the main program to the deliver program. */
struct meta {
	__u32 len;
	__u32 verdict; /* written by the filter program: cBPF return value, 0 = no match */
	__u8 dir;
	__u8 l3;
	__u8 l4proto;
	__u8 pflags;
	__u8 sample;
	__u8 egress;
	__u16 pad;
};

/* pkt_hdr.flags */
#define HDR_EGRESS 0x1
#define HDR_VLAN 0x2

/* Header of each TC ring buffer record; cap_len bytes of frame follow. */
struct pkt_hdr {
	__u64 ts_ns;    /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex;
	__u32 wire_len; /* skb->len */
	__u32 cap_len;  /* bytes of frame that follow this header */
	__u16 vlan_tci; /* offloaded VLAN tag, valid when HDR_VLAN is set */
	__u8 direction;
	__u8 flags;
};

struct lpm_v4_key {
	__u32 prefixlen;
	__u32 addr;
};

struct lpm_v6_key {
	__u32 prefixlen;
	__u32 addr[4];
};
