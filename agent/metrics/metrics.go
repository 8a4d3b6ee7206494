// Package metrics is the boundary between handlers and exporters. A handler
// describes a bucket by calling a Writer; the JSON, Prometheus and OTLP
// exporters each implement Writer, so one description serves every output
// and the names can only drift in one place.
package metrics

import "github.com/visorng/visor/sketches"

// Name identifies one metric in every output format.
type Name struct {
	// Path is the JSON path inside the handler's section, e.g.
	// {"wire_packets", "queries"}.
	Path []string
	// Prom is the Prometheus family name, e.g. "dns_wire_packets_queries".
	Prom string
	// Help is the Prometheus HELP text.
	Help string
	// Float marks quantiles whose values are fractional (ratios, CPU %);
	// integer-valued quantiles are rounded, as pktvisor's are.
	Float bool
}

// N builds a Name whose Prometheus family follows pktvisor's rule:
// schema + "_" + path parts joined with "_".
func N(schema, help string, path ...string) Name {
	prom := schema
	for _, p := range path {
		prom += "_" + p
	}
	return Name{Path: path, Prom: prom, Help: help}
}

// Entry is one row of a top-N list.
type Entry struct {
	Name     string
	Estimate uint64
	// Lat and Lon are set for geo locations (rendered as extra labels and
	// JSON fields).
	Lat, Lon string
}

// Writer receives one bucket's metrics. Implementations must not retain the
// sketches they are given past the call.
type Writer interface {
	Counter(n Name, v uint64)
	Cardinality(n Name, v uint64)
	Quantile(n Name, q *sketches.Quantile)
	// Rate writes per-second quantiles; live reports the last complete
	// second and is only emitted when withLive is true (live streams' live
	// buckets).
	Rate(n Name, r *sketches.Rate, withLive bool)
	Histogram(n Name, h *sketches.Histogram)
	// TopN writes a heavy-hitter list; label is the Prometheus label key
	// each row's name goes into (e.g. "qname", "ipv4").
	TopN(n Name, label string, rows []Entry)
	// Group returns a Writer whose metrics nest under jsonKey in JSON and
	// carry labelKey=labelValue in Prometheus (direction, device, target).
	// An empty labelKey nests without a label.
	Group(jsonKey, labelKey, labelValue string) Writer
}

// QuantileRanks are the ranks pktvisor reports, with their JSON keys and
// Prometheus label values. Keep one list so the outputs agree.
var QuantileRanks = [...]struct {
	Rank  float64
	JSON  string
	Label string
}{
	{0.5, "p50", "0.5"},
	{0.9, "p90", "0.9"},
	{0.95, "p95", "0.95"},
	{0.99, "p99", "0.99"},
}
