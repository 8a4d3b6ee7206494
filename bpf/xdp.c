//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP program for dedicated capture interfaces (mirror/SPAN/TAP ports).
 * Every frame is parsed and counted; frames that pass the optional filter and
 * the per-flow sample are redirected to the AF_XDP socket of their RX queue,
 * the rest get the configured default action (XDP_DROP normally: nothing on
 * a capture port is meant for the host stack).
 *
 * The same object loads with or without BPF_F_XDP_HAS_FRAGS (the loader
 * decides from the MTU): nothing here touches packet data beyond the
 * linear part, so multi-buffer frames are safe.
 */
#include "headers/fastpath.h"

char __license[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/*
 * A global (non-inline) function is verified once on its own, so the many
 * parser paths do not multiply with the paths of the caller; this keeps the
 * verifier's work, and so the load time, small.
 */
__attribute__((noinline)) int xdp_parse(struct xdp_md *ctx, struct pkt_info *pi)
{
	if (!pi)
		return 0;
	parse_packet((void *)(long)ctx->data, (void *)(long)ctx->data_end, pi);
	return 0;
}

static __always_inline int xdp_default(const struct config *cfg)
{
	return cfg->xdp_default_action == XDP_PASS ? XDP_PASS : XDP_DROP;
}

static __always_inline int xdp_fate(struct xdp_md *ctx, const struct config *cfg, struct counters *seen,
				    struct counters *matched, const struct meta *m)
{
	if (!m->sample) {
		seen->not_sampled++;
		if (matched)
			matched->not_sampled++;
		return xdp_default(cfg);
	}
	/* flags 0: a missing socket makes the helper return XDP_ABORTED, which we count. */
	long act = bpf_redirect_map(&xsks, ctx->rx_queue_index, 0);
	if (act == XDP_REDIRECT) {
		seen->sampled++;
		if (matched)
			matched->sampled++;
		return XDP_REDIRECT;
	}
	seen->deliver_failed++;
	if (matched)
		matched->deliver_failed++;
	return xdp_default(cfg);
}

SEC("xdp")
int xdp_main(struct xdp_md *ctx)
{
	struct config *cfg = get_config();
	struct pkt_info pi = {};
	struct meta m = {};

	if (!cfg)
		return XDP_PASS;
	xdp_parse(ctx, &pi);
	/*
	 * The parser reads only the linear part (direct access stops at
	 * data_end, the end of the first buffer of a multi-buffer frame);
	 * the length counted is the whole frame's, fragments included. Only a
	 * program loaded for multi-buffer frames can see one, and the helper
	 * call costs about ten nanoseconds a packet, so the others take the
	 * linear length.
	 */
	__u32 len = (cfg->flags & CFG_FRAGS) ? (__u32)bpf_xdp_get_buff_len(ctx)
					     : (__u32)(ctx->data_end - ctx->data);
	build_meta(&m, cfg, &pi, len);

	struct counters *seen = counter_slot(m.dir);
	if (!seen)
		return xdp_default(cfg);
	count_meta(seen, &m);

	if (cfg->flags & CFG_FILTER) {
		struct meta *s = get_scratch();
		if (s) {
			*s = m;
			bpf_tail_call(ctx, &progs, PROG_FILTER);
		}
		seen->internal_error++;
		return xdp_default(cfg);
	}
	return xdp_fate(ctx, cfg, seen, NULL, &m);
}

/* Tail-called by the filter program with its verdict in scratch. */
SEC("xdp")
int xdp_deliver(struct xdp_md *ctx)
{
	struct config *cfg = get_config();
	struct meta *m = get_scratch();

	if (!cfg || !m)
		return XDP_PASS;
	struct counters *seen = counter_slot(m->dir);
	if (!seen)
		return xdp_default(cfg);
	if (!m->verdict) {
		seen->filtered++;
		return xdp_default(cfg);
	}
	struct counters *matched = counter_slot(SLOT_MATCHED + m->dir);
	if (!matched)
		return xdp_default(cfg);
	count_meta(matched, m);
	return xdp_fate(ctx, cfg, seen, matched, m);
}
