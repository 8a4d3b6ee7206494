package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Capture paths, in the order the table lists them.
const (
	pathXDPDrop  = "xdpdrop"
	pathXDPCount = "xdp-count"
	pathAFXDP    = "afxdp"
	pathTC       = "tc"
	pathAFPacket = "afpacket"
	pathLibpcap  = "libpcap"
	pathTcpdump  = "tcpdump"
)

var allPaths = []string{pathXDPDrop, pathXDPCount, pathAFXDP, pathTC, pathAFPacket, pathLibpcap, pathTcpdump}

var pathTitles = map[string]string{
	pathXDPDrop:  "XDP_DROP counter (ceiling)",
	pathXDPCount: "XDP count only (rate 0)",
	pathAFXDP:    "XDP + AF_XDP (deep)",
	pathTC:       "TC + ring buffer (deep)",
	pathAFPacket: "AF_PACKET TPACKET_V3 (deep)",
	pathLibpcap:  "libpcap (deep)",
	pathTcpdump:  "tcpdump -w /dev/null (baseline)",
}

// deepPath says whether the path hands frames to user space.
func deepPath(p string) bool {
	return p != pathXDPDrop && p != pathXDPCount
}

// row is one measured case: one path at one sender CPU count.
type row struct {
	Path      string  `json:"path"`
	CPUs      int     `json:"sender_cpus"`
	Mode      string  `json:"mode,omitempty"`
	Err       string  `json:"error,omitempty"`
	Seconds   float64 `json:"seconds"`
	Sent      uint64  `json:"sent_trafgen"`
	Tx        uint64  `json:"tx_veth"`
	TxDropped uint64  `json:"tx_dropped_veth"`
	Counted   uint64  `json:"counted"`
	CountedOK bool    `json:"counted_ok"`
	Deep      uint64  `json:"deep"`
	Drops     uint64  `json:"drops"`
	AgentCPU  float64 `json:"agent_cpu_seconds"`
	SenderCPU float64 `json:"sender_cpu_seconds"`
	ProgRuns  uint64  `json:"prog_runs"`
	ProgNs    float64 `json:"prog_run_ns"`
}

// useful is the row's headline packet count: frames user space got on deep
// paths (and tcpdump), frames counted on counting-only paths.
func (r row) useful() uint64 {
	if deepPath(r.Path) {
		return r.Deep
	}
	return r.Counted
}

func (r row) rate(n uint64) float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(n) / r.Seconds
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func pct(a, b uint64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(a)/float64(b))
}

// loss is the share of the frames the path saw that never reached user
// space (deep paths only).
func (r row) loss() string {
	if !deepPath(r.Path) || !r.CountedOK || r.Counted == 0 {
		return "-"
	}
	if r.Deep >= r.Counted {
		return "0.00%"
	}
	return pct(r.Counted-r.Deep, r.Counted)
}

func perPacket(seconds float64, n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", seconds*1e9/float64(n))
}

func mpps(v float64) string { return fmt.Sprintf("%.3f", v/1e6) }

// writeTable prints one table per sender CPU count with each path's rates
// and ratios against tcpdump and against the XDP_DROP ceiling measured in
// the same run.
func writeTable(w io.Writer, rows []row) {
	var cpus []int
	seen := map[int]bool{}
	for _, r := range rows {
		if !seen[r.CPUs] {
			seen[r.CPUs] = true
			cpus = append(cpus, r.CPUs)
		}
	}
	for _, n := range cpus {
		var ceiling, base float64
		for _, r := range rows {
			if r.CPUs != n || r.Err != "" {
				continue
			}
			switch r.Path {
			case pathXDPDrop:
				ceiling = r.rate(r.Counted)
			case pathTcpdump:
				base = r.rate(r.Deep)
			}
		}
		var skipped []string
		fmt.Fprintf(w, "\n%d sender CPU(s), %d-byte frames\n", n, frameLen)
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
		fmt.Fprintln(tw, "path\tsent\tveth tx\tcounted\tcounted/tx\tdeep\tloss\tuseful Mpps\tvs tcpdump\tvs ceiling\tagent CPU s\tagent ns/pkt\tsender CPU s\tsender ns/pkt\tprog ns/pkt\t")
		for _, r := range rows {
			if r.CPUs != n {
				continue
			}
			if r.Err != "" {
				fmt.Fprintf(tw, "%s\tskipped\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n", pathTitles[r.Path])
				skipped = append(skipped, fmt.Sprintf("  %s: %s", r.Path, firstLine(r.Err)))
				continue
			}
			counted, countedPct := "-", "-"
			if r.CountedOK {
				counted, countedPct = fmt.Sprint(r.Counted), pct(r.Counted, r.Tx)
			}
			deep := "-"
			if deepPath(r.Path) {
				deep = fmt.Sprint(r.Deep)
			}
			u := r.rate(r.useful())
			prog := "-"
			if r.ProgRuns > 0 {
				prog = fmt.Sprintf("%.1f", r.ProgNs/float64(r.ProgRuns))
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%.2f\t%s\t%s\t\n",
				pathTitles[r.Path], r.Sent, r.Tx, counted, countedPct, deep, r.loss(), mpps(u),
				ratio(u, base), ratio(u, ceiling), r.AgentCPU, perPacket(r.AgentCPU, r.useful()),
				r.SenderCPU, perPacket(r.SenderCPU, r.Sent), prog)
		}
		tw.Flush()
		for _, s := range skipped {
			fmt.Fprintln(w, s)
		}
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// writeVerdicts checks the targets against the rows and says
// plainly whether each is met.
func writeVerdicts(w io.Writer, rows []row) {
	if len(rows) == 0 {
		return
	}
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Fprintln(w, "\nTargets")
	for _, r := range rows {
		if r.Err != "" || !r.CountedOK || r.Path == pathTcpdump || r.Path == pathAFPacket || r.Path == pathLibpcap {
			continue
		}
		fmt.Fprintf(w, "  counted = 100%% of delivered (%s, %d CPU): %d of %d veth tx (%d sent by trafgen): %s\n",
			r.Path, r.CPUs, r.Counted, r.Tx, r.Sent, met(r.Counted == r.Tx))
	}
	ceiling := map[int]float64{}
	for _, r := range rows {
		if r.Path == pathXDPDrop && r.Err == "" {
			ceiling[r.CPUs] = r.rate(r.Counted)
		}
	}
	for _, r := range rows {
		if r.Path != pathAFXDP || r.Err != "" || r.CPUs != 1 {
			continue
		}
		c := ceiling[r.CPUs]
		lossOK := r.CountedOK && r.Counted > 0 && float64(r.Counted-min(r.Deep, r.Counted)) <= 0.001*float64(r.Counted)
		rateOK := c > 0 && r.rate(r.Deep) >= 0.6*c
		fmt.Fprintf(w, "  AF_XDP deep path >= 0.6x XDP_DROP ceiling at 1 sender CPU: %s x: %s\n", ratio(r.rate(r.Deep), c), met(rateOK))
		fmt.Fprintf(w, "  AF_XDP loss <= 0.1%% at 1 sender CPU: %s: %s\n", r.loss(), met(lossOK))
	}
	for _, r := range rows {
		if r.Err != "" || r.ProgRuns == 0 || r.Path == pathXDPDrop {
			continue
		}
		ns := r.ProgNs / float64(r.ProgRuns)
		fmt.Fprintf(w, "  kernel program <= 30 ns/packet (%s, %d CPU): %.1f ns: %s\n", r.Path, r.CPUs, ns, met(ns <= 30))
	}
}
