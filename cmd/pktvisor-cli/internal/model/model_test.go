package model

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
)

const window = `{"p1": {
 "p1-t-dns": {"dns": {"period": {"start_ts": 1, "length": 125},
   "wire_packets": {"total": 200, "udp": 150, "tcp": 50, "ipv4": 100, "ipv6": 100, "queries": 100, "replies": 100,
                    "noerror": 80, "srvfail": 5, "nxdomain": 10, "refused": 5},
   "xact": {"counts": {"total": 100, "timed_out": 2}, "in": {"total": 40, "quantiles_us": {"p50": 1500, "p90": 2000, "p95": 3000, "p99": 4000}},
            "out": {"total": 60}},
   "cardinality": {"qname": 33},
   "rates": {"total": {"p50": 1, "p90": 2, "p95": 3, "p99": 4, "live": 9}},
   "top_qname2": [{"name": ".example.com", "estimate": 50}, {"name": ".example.net", "estimate": 25},
                  {"name": ".a", "estimate": 10}, {"name": ".b", "estimate": 5}],
   "top_rcode": [{"name": "NOERROR", "estimate": 80}]}},
 "p1-t-net": {"packets": {"period": {"start_ts": 1, "length": 125},
   "total": 1000, "deep_samples": 500, "udp": 600, "tcp": 300, "other_l4": 100, "ipv4": 900, "ipv6": 100, "in": 400, "out": 600,
   "cardinality": {"src_ips_in": 7, "dst_ips_out": 8},
   "rates": {"pps_total": {"p50": 10, "p90": 20, "p95": 30, "p99": 40, "live": 15}},
   "top_ipv4": [{"name": "192.0.2.1", "estimate": 250}]}},
 "p1-t-zzz": {"packets": {"total": 1}}
}}`

func TestParseWindowPicksFirstSectionBySchema(t *testing.T) {
	w, err := ParseWindow([]byte(window), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got := num(w.Packets, "total"); got != 1000 {
		t.Fatalf("packets from the first handler by name: total %v", got)
	}
	if w.DNS == nil || w.DHCP != nil || w.Pcap != nil {
		t.Fatalf("sections: dns %v dhcp %v pcap %v", w.DNS != nil, w.DHCP != nil, w.Pcap != nil)
	}
	if _, err := ParseWindow([]byte(window), "other"); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("missing policy: %v", err)
	}
	if _, err := ParseWindow([]byte(`{"p1": [1]}`), "p1"); err == nil {
		t.Fatal("wrong shape accepted")
	}
}

func TestDerive(t *testing.T) {
	w, err := ParseWindow([]byte(window), "p1")
	if err != nil {
		t.Fatal(err)
	}
	v := Derive(w)
	all := strings.Join(v.Summary, "\n")
	for _, want := range []string{
		"Pkts 1000 | UDP 600 (60.0%) | TCP 300 (30.0%) | Other 100 (10.0%)",
		"Deep Samples 500 (50.0%)",
		"Pkt Rates Total 15 live, 10/20/30/40",
		"IP Card. In: 7 | Out: 8",
		"DNS Wire Pkts 200 | Rate 9 live, 1/2/3/4 | UDP 150 (75.0%)",
		"DNS Xacts 100 | Timed Out 2 | In 40 (40.0%) 1.5/2.0/3.0/4.0ms | Out 60 (60.0%)",
		"Qname Card. 33",
		"DNS NOERROR 80.0% | SRVFAIL 5.0% | NXDOMAIN 10.0% | REFUSED 5.0% of replies | Window 2m05s",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("summary lacks %q:\n%s", want, all)
		}
	}
	tables := map[string]Table{}
	for _, tb := range v.Tables {
		tables[tb.Title] = tb
	}
	if len(v.Tables) != 14 {
		t.Errorf("%d tables, want pktvisor-cli's 14", len(v.Tables))
	}
	q2 := tables["Top QName 2"].Rows
	// Base: DNS wire total scaled by the deep-sample ratio, 200*0.5 = 100.
	if len(q2) != 4 || q2[0].Pct != 50 || q2[1].Pct != 25 || q2[2].Pct != 10 || q2[3].Pct >= 0 {
		t.Errorf("qname2 rows %+v", q2)
	}
	if r := tables["IPv4"].Rows; len(r) != 1 || r[0].Pct != 50 {
		t.Errorf("ipv4 rows %+v (base is deep samples)", r)
	}
	if v.Status != "" {
		t.Errorf("status %q", v.Status)
	}
}

func TestDeriveNothingToShow(t *testing.T) {
	w, err := ParseWindow([]byte(`{"p": {"p-flow": {"flow": {}}}}`), "p")
	if err != nil {
		t.Fatal(err)
	}
	if v := Derive(w); !strings.Contains(v.Status, "no net v1, dns v1 or dhcp handler") {
		t.Fatalf("status %q", v.Status)
	}
}

func TestParseApp(t *testing.T) {
	a, err := ParseApp([]byte(`{"app": {"version": "4.1.0", "up_time_min": 2.5},
	  "inputs": {"b": {"capture": {"path": "xdp", "received": 20000, "os_drops": 1, "if_drops": 2, "filtered": 3,
	                               "decode_errors": 4, "ring_full_drops": 5}, "input": {"running": true}},
	             "a": {"capture": {}, "input": {"running": false, "error": "no such device"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != "4.1.0" || a.UpMin != 2.5 || len(a.Capture) != 2 {
		t.Fatalf("%+v", a)
	}
	if !strings.HasPrefix(a.Capture[0], "a [-]") || !strings.Contains(a.Capture[0], "ERROR: no such device") {
		t.Errorf("input a: %q", a.Capture[0])
	}
	want := "b [xdp] recv 20.0k | os_drops 1 | if_drops 2 | filtered 3 | decode_errors 4 | ring_full_drops 5"
	if a.Capture[1] != want {
		t.Errorf("input b:\n got %q\nwant %q", a.Capture[1], want)
	}
	k, err := ParseApp([]byte(`{"app": {"version": "4"}, "inputs": {"eth0": {"capture": {"path": "xdp", "attach_mode": "native",
	  "received": 10, "kernel_sample_rate": 10, "rejected": [{"path": "af_xdp", "reason": "r"}],
	  "kernel": {"packets": 100, "bytes": 6400, "filtered": 1, "sampled": 10, "not_sampled": 89, "ring_failures": 2}},
	  "input": {"running": true}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want = "eth0 [xdp/native] recv 10 | os_drops 0 | if_drops 0 | filtered 0 | decode_errors 0" +
		" | kernel pkts 100 sampled 10 not_sampled 89 filtered 1 | ring_failures 2 | sample_rate 10 | rejected af_xdp"
	if k.Capture[0] != want {
		t.Errorf("kernel path:\n got %q\nwant %q", k.Capture[0], want)
	}
	// pktvisor's own answer has no inputs.
	if a, err := ParseApp([]byte(`{"app": {"version": "3.4.0", "up_time_min": 1}}`)); err != nil || len(a.Capture) != 0 {
		t.Fatalf("pktvisor app: %+v %v", a, err)
	}
	if _, err := ParseApp([]byte(`{`)); err == nil {
		t.Fatal("bad JSON accepted")
	}
}

func TestMajorMismatch(t *testing.T) {
	for _, tc := range []struct {
		c, s string
		want bool
	}{{"4.0.0", "4.2.1", false}, {"4.0.0", "3.4.0", true}, {"v4.0", "4.1", false}, {"4.0.0", "", false}, {"dev", "3.0", false}} {
		if got := MajorMismatch(tc.c, tc.s); got != tc.want {
			t.Errorf("%s vs %s: %v", tc.c, tc.s, got)
		}
	}
}

func TestHistoryAndSparkline(t *testing.T) {
	var h History
	h.Cap = 3
	w, _ := ParseWindow([]byte(window), "p1")
	for i := 0; i < 5; i++ {
		h.Observe(w)
	}
	s := h.Sparks()
	if len(s) != 2 || s[0].Label != "pps total" || s[1].Label != "dns/s" || len(s[0].Values) != 3 {
		t.Fatalf("%+v", s)
	}
	// A recorded stream (no live values) adds nothing.
	var h2 History
	w2, _ := ParseWindow([]byte(`{"p": {"h": {"packets": {"rates": {"pps_total": {"p50": 1}}}}}}`), "p")
	h2.Observe(w2)
	if len(h2.Sparks()) != 0 {
		t.Fatal("sparks without live values")
	}
	if got := Sparkline([]float64{0, 1, 2, 4, 8}, 4); got != "▂▃▅█" {
		t.Errorf("sparkline %q", got)
	}
	if got := Sparkline([]float64{0, 0}, 0); got != "▁▁" {
		t.Errorf("flat sparkline %q", got)
	}
	h.Reset()
	if len(h.Sparks()) != 0 {
		t.Fatal("reset kept series")
	}
}

type statusErr struct {
	code int
	msg  string
}

func (e statusErr) Error() string   { return fmt.Sprint(e.code, e.msg) }
func (e statusErr) StatusCode() int { return e.code }
func (e statusErr) Text() string    { return e.msg }

func TestProblem(t *testing.T) {
	const agent = "http://localhost:10853"
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("GET x: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), "Agent unreachable: nothing listens at http://localhost:10853"},
		{fmt.Errorf("GET: %w", &net.DNSError{Name: "nohost", Err: "no such host"}), `cannot resolve host "nohost"`},
		{statusErr{404, "policy does not exist"}, `Policy "p" does not exist on http://localhost:10853 — press p`},
		{statusErr{500, "boom"}, "returned HTTP 500: boom"},
		{statusErr{503, ""}, "returned HTTP 503."},
		{statusErr{425, "requested metrics period has not yet accumulated"}, "no metrics for this window yet"},
		{errors.New("odd"), "Cannot read metrics from http://localhost:10853: odd"},
	} {
		got := Problem(tc.err, agent, "p")
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%v: got %q want %q", tc.err, got, tc.want)
		}
		if strings.Contains(got, "\n") {
			t.Errorf("multi-line message %q", got)
		}
	}
}

func FuzzParseWindow(f *testing.F) {
	f.Add([]byte(window))
	f.Add([]byte(`{"p1": {"h": {"dns": {"top_qname2": [1, {"name": 3}]}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWindow(b, "p1")
		if err != nil {
			return
		}
		_ = Derive(w) // must not panic on any shape
	})
}

func FuzzParseApp(f *testing.F) {
	f.Add([]byte(`{"app": {"version": "1"}, "inputs": {"a": {"capture": {"path": 1, "x_drops": "y"}, "input": 3}}}`))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseApp(b) })
}

func TestProblemTLS(t *testing.T) {
	got := Problem(fmt.Errorf("GET: %w", &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}), "https://a:1", "p")
	if !strings.Contains(got, "--tls-noverify") {
		t.Errorf("%q", got)
	}
	got = Problem(fmt.Errorf("GET: %w", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), "https://a:1", "p")
	if !strings.Contains(got, "drop --tls") {
		t.Errorf("%q", got)
	}
	got = Problem(errors.New("Get \"https://a:1\": http: server gave HTTP response to HTTPS client"), "https://a:1", "p")
	if !strings.Contains(got, "drop --tls") {
		t.Errorf("%q", got)
	}
}
