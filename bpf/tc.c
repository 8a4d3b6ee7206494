//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC (tcx or clsact) program for a live host's own traffic, attached on
 * ingress and egress. It only observes: every path returns TC_ACT_UNSPEC
 * (TCX_NEXT), so the packet continues exactly as if nothing were attached.
 * Sampled packets are copied, up to the snap length, into a ring buffer.
 */
#include "headers/fastpath.h"
#include <linux/pkt_cls.h>

char __license[] SEC("license") = "Dual BSD/GPL";

/* Largest copy per record; longer frames (GSO, jumbo) are truncated. */
#define MAX_SNAP 9216
/* Linear bytes the parser wants; pulled in only when the skb head is shorter. */
#define PARSE_LEN 128

/* Keeps struct pkt_hdr in the BTF so bpf2go can generate its Go type. */
const struct pkt_hdr *unused_pkt_hdr __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Verified once on its own: see xdp_parse in xdp.c. */
__attribute__((noinline)) int tc_parse(struct __sk_buff *skb, struct pkt_info *pi)
{
	if (!pi)
		return 0;
	parse_packet((void *)(long)skb->data, (void *)(long)skb->data_end, pi);
	return 0;
}

/*
 * Called after the record is reserved, so the pending data includes it. With
 * a threshold, a record forces a wakeup only when it carries the pending data
 * across a multiple of the threshold: a reader that lags is woken once per
 * threshold's worth of records rather than by every one of them (each forced
 * wakeup queues irq_work, an interrupt on this CPU). Below the threshold no
 * record wakes the reader; it reads on its own deadline.
 */
static __always_inline __u64 wakeup_flags(const struct config *cfg, __u64 rec_size)
{
	__u64 t = cfg->wakeup_bytes;

	if (!t)
		return 0;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 before = avail > rec_size ? avail - rec_size : 0;
	if (before / t != avail / t)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void fill_hdr(struct pkt_hdr *h, struct __sk_buff *skb, const struct meta *m, __u32 cap)
{
	h->ts_ns = bpf_ktime_get_ns();
	h->ifindex = skb->ifindex;
	h->wire_len = m->len;
	h->cap_len = cap;
	h->direction = m->dir;
	h->flags = m->egress ? HDR_EGRESS : 0;
	h->vlan_tci = 0;
	if (skb->vlan_present) {
		h->flags |= HDR_VLAN;
		h->vlan_tci = skb->vlan_tci;
	}
}

/*
 * bpf_ringbuf_reserve needs a constant size, so records come in size classes;
 * the copy itself is exactly cap bytes, and cap_len tells the reader.
 */
#define EMIT_CLASS(SZ)                                                                     \
	do {                                                                               \
		struct {                                                                   \
			struct pkt_hdr h;                                                  \
			__u8 data[SZ];                                                     \
		} *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);                    \
		if (!rec)                                                                  \
			return -1;                                                         \
		__u64 wflags = wakeup_flags(cfg, sizeof(*rec));                            \
		__u32 n = cap;                                                             \
		if (n > SZ)                                                                \
			n = SZ;                                                            \
		if (n == 0 || bpf_skb_load_bytes(skb, 0, rec->data, n) < 0) {              \
			bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);                        \
			return -1;                                                         \
		}                                                                          \
		fill_hdr(&rec->h, skb, m, n);                                              \
		bpf_ringbuf_submit(rec, wflags);                                           \
		return 0;                                                                  \
	} while (0)

static __always_inline int emit(struct __sk_buff *skb, const struct config *cfg, const struct meta *m)
{
	__u32 cap = m->len;

	if (cap > cfg->snaplen)
		cap = cfg->snaplen;
	if (cap <= 128)
		EMIT_CLASS(128);
	if (cap <= 256)
		EMIT_CLASS(256);
	if (cap <= 512)
		EMIT_CLASS(512);
	if (cap <= 1024)
		EMIT_CLASS(1024);
	if (cap <= 2048)
		EMIT_CLASS(2048);
	if (cap <= 4096)
		EMIT_CLASS(4096);
	EMIT_CLASS(MAX_SNAP);
}

static __always_inline void tc_fate(struct __sk_buff *skb, const struct config *cfg, struct counters *seen,
				    struct counters *matched, const struct meta *m)
{
	if (!m->sample) {
		seen->not_sampled++;
		if (matched)
			matched->not_sampled++;
		return;
	}
	if (emit(skb, cfg, m) == 0) {
		seen->sampled++;
		if (matched)
			matched->sampled++;
		return;
	}
	seen->deliver_failed++;
	if (matched)
		matched->deliver_failed++;
}

static __always_inline int tc_main(struct __sk_buff *skb, __u8 egress)
{
	struct config *cfg = get_config();
	struct pkt_info pi = {};
	struct meta m = {};

	if (!cfg)
		return TC_ACT_UNSPEC;

	__u32 len = skb->len;
	__u32 want = len < PARSE_LEN ? len : PARSE_LEN;
	/* Linearizing the head changes no byte of the packet, only where it lives. */
	if (skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want);

	tc_parse(skb, &pi);
	build_meta(&m, cfg, &pi, len);
	m.egress = egress;
	if (m.dir == DIR_UNKNOWN && (cfg->flags & CFG_DIR_FROM_HOOK))
		m.dir = egress ? DIR_OUT : DIR_IN;

	struct counters *seen = counter_slot(m.dir);
	if (!seen)
		return TC_ACT_UNSPEC;
	count_meta(seen, &m);

	if (cfg->flags & CFG_FILTER) {
		struct meta *s = get_scratch();
		if (s) {
			*s = m;
			bpf_tail_call(skb, &progs, PROG_FILTER);
		}
		seen->internal_error++;
		return TC_ACT_UNSPEC;
	}
	tc_fate(skb, cfg, seen, NULL, &m);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	return tc_main(skb, 0);
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	return tc_main(skb, 1);
}

/* Tail-called by the filter program with its verdict in scratch. */
SEC("tc")
int tc_deliver(struct __sk_buff *skb)
{
	struct config *cfg = get_config();
	struct meta *m = get_scratch();

	if (!cfg || !m)
		return TC_ACT_UNSPEC;
	struct counters *seen = counter_slot(m->dir);
	if (!seen)
		return TC_ACT_UNSPEC;
	if (!m->verdict) {
		seen->filtered++;
		return TC_ACT_UNSPEC;
	}
	struct counters *matched = counter_slot(SLOT_MATCHED + m->dir);
	if (!matched)
		return TC_ACT_UNSPEC;
	count_meta(matched, m);
	tc_fate(skb, cfg, seen, matched, m);
	return TC_ACT_UNSPEC;
}
