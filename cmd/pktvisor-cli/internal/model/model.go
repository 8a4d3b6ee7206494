// Package model turns the agent's JSON into what pktvisor-cli shows: it
// picks handler sections by schema key, derives totals, shares, rates and
// top tables, and keeps a short history of live rates for sparklines. It is
// pure: no I/O and no terminal, so it is tested with literal JSON.
package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// obj is a decoded JSON object.
type obj = map[string]any

// Window is the parsed window of one policy: the first section of each
// schema pktvisor-cli understands (net v1 "packets", "dns", "dhcp", "pcap").
type Window struct {
	Policy  string
	Packets obj
	DNS     obj
	DHCP    obj
	Pcap    obj
}

// ErrNoPolicy is returned when the answer does not hold the asked policy.
var ErrNoPolicy = errors.New("policy missing from answer")

// ParseWindow parses {"<policy>": {"<handler>": {"<schema>": {...}}}}.
// Handlers are visited in name order so the choice among several handlers
// of one schema is stable.
func ParseWindow(body []byte, policy string) (*Window, error) {
	var top map[string]map[string]obj
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("decode window: %w", err)
	}
	handlers, ok := top[policy]
	if !ok {
		return nil, fmt.Errorf("%q: %w", policy, ErrNoPolicy)
	}
	names := make([]string, 0, len(handlers))
	for n := range handlers {
		names = append(names, n)
	}
	sort.Strings(names)
	w := &Window{Policy: policy}
	for _, n := range names {
		for schema, v := range handlers[n] {
			o, _ := v.(obj)
			if o == nil {
				continue
			}
			switch schema {
			case "packets":
				w.Packets = first(w.Packets, o)
			case "dns":
				w.DNS = first(w.DNS, o)
			case "dhcp":
				w.DHCP = first(w.DHCP, o)
			case "pcap":
				w.Pcap = first(w.Pcap, o)
			}
		}
	}
	return w, nil
}

func first(have, o obj) obj {
	if have != nil {
		return have
	}
	return o
}

// num reads a number at a path; missing values are 0.
func num(o obj, path ...string) float64 {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(obj)
		if !ok {
			return 0
		}
		cur = m[p]
	}
	f, _ := cur.(float64)
	return f
}

// has reports whether a path exists.
func has(o obj, path ...string) bool {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(obj)
		if !ok {
			return false
		}
		if cur, ok = m[p]; !ok {
			return false
		}
	}
	return true
}

// Row is one line of a top table.
type Row struct {
	Name     string
	Estimate uint64
	// Pct is the share of the table's base; negative when not shown
	// (pktvisor-cli shows it for the first three rows only).
	Pct float64
}

// Table is one top-N panel.
type Table struct {
	Title string
	Rows  []Row
}

func rows(o obj, base float64, path ...string) []Row {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(obj)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	list, _ := cur.([]any)
	out := make([]Row, 0, len(list))
	for i, e := range list {
		m, _ := e.(obj)
		if m == nil {
			continue
		}
		name, _ := m["name"].(string)
		est, _ := m["estimate"].(float64)
		r := Row{Name: name, Estimate: uint64(est), Pct: -1}
		if i < 3 && base > 0 {
			r.Pct = 100 * est / base
		}
		out = append(out, r)
	}
	return out
}

func pct(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * part / whole
}

// Quantiles is a p50/p90/p95/p99 set with the optional live value.
type Quantiles struct {
	P50, P90, P95, P99 float64
	Live               float64
	HasLive            bool
}

func quantiles(o obj, path ...string) Quantiles {
	q := Quantiles{
		P50: num(o, append(path, "p50")...),
		P90: num(o, append(path, "p90")...),
		P95: num(o, append(path, "p95")...),
		P99: num(o, append(path, "p99")...),
	}
	if has(o, append(path, "live")...) {
		q.Live, q.HasLive = num(o, append(path, "live")...), true
	}
	return q
}

// View is everything the screen shows, as text and numbers.
type View struct {
	Title string
	// Summary lines of the header panel.
	Summary []string
	Tables  []Table
	// Capture lines, one per input (path, kernel counters, drops).
	Capture []string
	// Sparks are the live-rate histories.
	Sparks []Spark
	// Status is an error or notice for the operator; empty when all is well.
	Status string
}

// Spark is one sparkline: a label, its samples oldest first, the last
// value.
type Spark struct {
	Label  string
	Values []float64
}

// Derive builds the view of a window. deepRatio scaling follows
// pktvisor-cli: DNS tables are sampled, so their base is the DNS total
// scaled by the packet deep-sample ratio.
func Derive(w *Window) View {
	var v View
	p := w.Packets
	total := num(p, "total")
	if p != nil {
		v.Summary = append(v.Summary,
			fmt.Sprintf("Pkts %s | UDP %s | TCP %s | Other %s | IPv4 %s | IPv6 %s | In %s | Out %s | Deep Samples %s",
				count(total),
				share(num(p, "udp"), total), share(num(p, "tcp"), total), share(num(p, "other_l4"), total),
				share(num(p, "ipv4"), total), share(num(p, "ipv6"), total),
				share(num(p, "in"), total), share(num(p, "out"), total),
				share(num(p, "deep_samples"), total)),
			fmt.Sprintf("Pkt Rates Total %s | In %s | Out %s | IP Card. In: %s | Out: %s",
				rate(quantiles(p, "rates", "pps_total")), rate(quantiles(p, "rates", "pps_in")), rate(quantiles(p, "rates", "pps_out")),
				count(num(p, "cardinality", "src_ips_in")), count(num(p, "cardinality", "dst_ips_out"))))
	}
	if c := w.Pcap; c != nil {
		v.Summary = append(v.Summary, fmt.Sprintf("TCP Reassembly Errors %s | OS Drops %s | IF Drops %s",
			count(num(c, "tcp_reassembly_errors")), count(num(c, "os_drops")), count(num(c, "if_drops"))))
	}
	if d := w.DHCP; d != nil {
		wp := num(d, "wire_packets", "total")
		v.Summary = append(v.Summary, fmt.Sprintf("DHCP Wire Pkts %s | Rate %s | DISCOVER %s | OFFER %s | REQUEST %s | ACK %s",
			count(wp), rate(quantiles(d, "rates", "total")),
			share(num(d, "wire_packets", "discover"), wp), share(num(d, "wire_packets", "offer"), wp),
			share(num(d, "wire_packets", "request"), wp), share(num(d, "wire_packets", "ack"), wp)))
	}
	deep := 1.0
	if total > 0 && num(p, "deep_samples") > 0 {
		deep = num(p, "deep_samples") / total
	}
	if d := w.DNS; d != nil {
		wp := num(d, "wire_packets", "total")
		replies := num(d, "wire_packets", "replies")
		xt := num(d, "xact", "counts", "total")
		v.Summary = append(v.Summary,
			fmt.Sprintf("DNS Wire Pkts %s | Rate %s | UDP %s | TCP %s | IPv4 %s | IPv6 %s | Query %s | Response %s",
				count(wp), rate(quantiles(d, "rates", "total")),
				share(num(d, "wire_packets", "udp"), wp), share(num(d, "wire_packets", "tcp"), wp),
				share(num(d, "wire_packets", "ipv4"), wp), share(num(d, "wire_packets", "ipv6"), wp),
				share(num(d, "wire_packets", "queries"), wp), share(num(d, "wire_packets", "replies"), wp)),
			fmt.Sprintf("DNS Xacts %s | Timed Out %s | In %s %s | Out %s %s | Qname Card. %s",
				count(xt), count(num(d, "xact", "counts", "timed_out")),
				share(num(d, "xact", "in", "total"), xt), latency(quantiles(d, "xact", "in", "quantiles_us")),
				share(num(d, "xact", "out", "total"), xt), latency(quantiles(d, "xact", "out", "quantiles_us")),
				count(num(d, "cardinality", "qname"))),
			fmt.Sprintf("DNS NOERROR %.1f%% | SRVFAIL %.1f%% | NXDOMAIN %.1f%% | REFUSED %.1f%% of replies | Window %s",
				pct(num(d, "wire_packets", "noerror"), replies), pct(num(d, "wire_packets", "srvfail"), replies),
				pct(num(d, "wire_packets", "nxdomain"), replies), pct(num(d, "wire_packets", "refused"), replies),
				period(d)))
		wpS, repS, xtS := wp*deep, replies*deep, xt*deep
		v.Tables = append(v.Tables,
			Table{"Top QName 2", rows(d, wpS, "top_qname2")},
			Table{"Top QName 3", rows(d, wpS, "top_qname3")},
			Table{"Top NX", rows(d, repS, "top_nxdomain")},
			Table{"Slow In", rows(d, xtS, "xact", "in", "top_slow")},
			Table{"Top QTypes", rows(d, wpS, "top_qtype")},
			Table{"Top RCodes", rows(d, repS, "top_rcode")},
			Table{"Top SRVFAILS", rows(d, repS, "top_srvfail")},
			Table{"Slow Out", rows(d, xtS, "xact", "out", "top_slow")},
			Table{"Top REFUSED", rows(d, repS, "top_refused")},
			Table{"Top DNS UDP Ports", rows(d, wpS, "top_udp_ports")},
		)
	}
	if p != nil {
		ds := num(p, "deep_samples")
		v.Tables = append(v.Tables,
			Table{"IPv4", rows(p, ds, "top_ipv4")},
			Table{"IPv6", rows(p, ds, "top_ipv6")},
			Table{"Top GeoLoc", rows(p, ds, "top_geoLoc")},
			Table{"Top ASN", rows(p, ds, "top_ASN")},
		)
	}
	if p == nil && w.DNS == nil && w.DHCP == nil {
		v.Status = fmt.Sprintf("policy %q has no net v1, dns v1 or dhcp handler to show", w.Policy)
	}
	return v
}

func period(o obj) string {
	l := num(o, "period", "length")
	return fmt.Sprintf("%dm%02ds", int(l)/60, int(l)%60)
}

func share(part, whole float64) string {
	return fmt.Sprintf("%s (%.1f%%)", count(part), pct(part, whole))
}

// count renders an integer with SI suffixes so a header line fits.
func count(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func rate(q Quantiles) string {
	s := fmt.Sprintf("%s/%s/%s/%s", count(q.P50), count(q.P90), count(q.P95), count(q.P99))
	if q.HasLive {
		s = count(q.Live) + " live, " + s
	}
	return s
}

func latency(q Quantiles) string {
	ms := func(us float64) string { return fmt.Sprintf("%.1f", us/1000) }
	return fmt.Sprintf("%s/%s/%s/%sms", ms(q.P50), ms(q.P90), ms(q.P95), ms(q.P99))
}

// App is the parsed /api/v1/metrics/app answer.
type App struct {
	Version string
	UpMin   float64
	// Capture lines, one per input, sorted by input name.
	Capture []string
}

// ParseApp parses the app answer, including visor-ng's additive "inputs"
// object (capture path and counters per input).
func ParseApp(body []byte) (App, error) {
	var raw struct {
		App struct {
			Version string  `json:"version"`
			UpTime  float64 `json:"up_time_min"`
		} `json:"app"`
		Inputs map[string]obj `json:"inputs"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return App{}, fmt.Errorf("decode app info: %w", err)
	}
	a := App{Version: raw.App.Version, UpMin: raw.App.UpTime}
	names := make([]string, 0, len(raw.Inputs))
	for n := range raw.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		in := raw.Inputs[n]
		c, _ := in["capture"].(obj)
		path, _ := c["path"].(string)
		if path == "" {
			path = "-"
		}
		if mode, _ := c["attach_mode"].(string); mode != "" {
			path += "/" + mode
		}
		line := fmt.Sprintf("%s [%s] recv %s | os_drops %s | if_drops %s | filtered %s | decode_errors %s",
			n, path, count(num(c, "received")), count(num(c, "os_drops")), count(num(c, "if_drops")),
			count(num(c, "filtered")), count(num(c, "decode_errors")))
		// Any further *drop* or *failure* counter the agent adds is shown
		// too, so a new loss reason is never invisible.
		line += extraCounters(c, "os_drops", "if_drops")
		if k, _ := c["kernel"].(obj); k != nil {
			line += fmt.Sprintf(" | kernel pkts %s sampled %s not_sampled %s filtered %s",
				count(num(k, "packets")), count(num(k, "sampled")), count(num(k, "not_sampled")), count(num(k, "filtered")))
			line += extraCounters(k)
		}
		if has(c, "kernel_sample_rate") {
			line += fmt.Sprintf(" | sample_rate %s", count(num(c, "kernel_sample_rate")))
		}
		if rej, _ := c["rejected"].([]any); len(rej) > 0 {
			var paths []string
			for _, r := range rej {
				if m, _ := r.(obj); m != nil {
					if p, _ := m["path"].(string); p != "" {
						paths = append(paths, p)
					}
				}
			}
			if len(paths) > 0 {
				line += " | rejected " + strings.Join(paths, ",")
			}
		}
		errText, _ := c["error"].(string)
		if st, _ := in["input"].(obj); st != nil {
			if e, _ := st["error"].(string); e != "" {
				errText = e
			} else if r, ok := st["running"].(bool); ok && !r && errText == "" {
				line += " | stopped"
			}
		}
		if errText != "" {
			line += " | ERROR: " + errText
		}
		a.Capture = append(a.Capture, line)
	}
	return a, nil
}

// extraCounters renders the numeric counters of c whose names speak of
// loss (drop, fail), other than the ones already shown, in name order.
func extraCounters(c obj, shown ...string) string {
	var keys []string
	for k, v := range c {
		if _, isNum := v.(float64); !isNum {
			continue
		}
		if (strings.Contains(k, "drop") || strings.Contains(k, "fail")) && !slices.Contains(shown, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " | %s %s", k, count(num(c, k)))
	}
	return b.String()
}

// MajorMismatch reports whether client and server major versions differ
// (pktvisor-cli warns about it).
func MajorMismatch(client, server string) bool {
	maj := func(v string) string {
		v = strings.TrimPrefix(v, "v")
		if i := strings.IndexByte(v, '.'); i >= 0 {
			return v[:i]
		}
		return v
	}
	if client == "" || server == "" || client == "dev" || server == "dev" {
		return false
	}
	return maj(client) != maj(server)
}

// History keeps the last Cap live-rate samples of each series.
type History struct {
	Cap    int
	names  []string
	series map[string][]float64
}

// Observe appends this poll's live rates (series without a live value in
// this window are left alone: recorded streams have none).
func (h *History) Observe(w *Window) {
	add := func(label string, o obj, path ...string) {
		if o == nil || !has(o, append(path, "live")...) {
			return
		}
		h.add(label, num(o, append(path, "live")...))
	}
	add("pps total", w.Packets, "rates", "pps_total")
	add("pps in", w.Packets, "rates", "pps_in")
	add("pps out", w.Packets, "rates", "pps_out")
	add("bytes/s", w.Packets, "rates", "bytes_total")
	add("dns/s", w.DNS, "rates", "total")
}

func (h *History) add(label string, v float64) {
	if h.series == nil {
		h.series = map[string][]float64{}
	}
	if h.Cap <= 0 {
		h.Cap = 60
	}
	s, ok := h.series[label]
	if !ok {
		h.names = append(h.names, label)
	}
	s = append(s, v)
	if len(s) > h.Cap {
		s = s[len(s)-h.Cap:]
	}
	h.series[label] = s
}

// Reset forgets every series (after a policy switch).
func (h *History) Reset() { h.names, h.series = nil, nil }

// Sparks returns the series in first-seen order.
func (h *History) Sparks() []Spark {
	out := make([]Spark, 0, len(h.names))
	for _, n := range h.names {
		out = append(out, Spark{Label: n, Values: h.series[n]})
	}
	return out
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline renders values scaled to their own maximum, newest last,
// keeping at most width samples.
func Sparkline(values []float64, width int) string {
	if width > 0 && len(values) > width {
		values = values[len(values)-width:]
	}
	maxV := 0.0
	for _, v := range values {
		maxV = math.Max(maxV, v)
	}
	var b strings.Builder
	for _, v := range values {
		i := 0
		if maxV > 0 {
			i = int(math.Round(v / maxV * float64(len(sparkRunes)-1)))
		}
		b.WriteRune(sparkRunes[max(0, min(i, len(sparkRunes)-1))])
	}
	return b.String()
}
