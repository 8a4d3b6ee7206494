package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseProcStatCPU(t *testing.T) {
	stat := "4242 (tcp dump (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 75 0 0 20 0 1 0 100 1000 10 18446744073709551615"
	got, err := parseProcStatCPU(stat, 100)
	if err != nil || got != 2.25 {
		t.Fatalf("parseProcStatCPU = %v, %v", got, err)
	}
	if _, err := parseProcStatCPU("garbage", 100); err == nil {
		t.Fatal("no error on garbage")
	}
}

func TestTableRatios(t *testing.T) {
	rows := []row{
		{Path: pathXDPDrop, CPUs: 1, Seconds: 2, Sent: 2000, Tx: 2000, Counted: 2000, CountedOK: true, ProgRuns: 2000, ProgNs: 40000},
		{Path: pathAFXDP, CPUs: 1, Seconds: 2, Sent: 1000, Tx: 1000, Counted: 1000, CountedOK: true, Deep: 999, AgentCPU: 0.5},
		{Path: pathTcpdump, CPUs: 1, Seconds: 2, Sent: 800, Tx: 800, Counted: 800, CountedOK: true, Deep: 500},
		{Path: pathLibpcap, CPUs: 1, Err: "open libpcap on cap0: not built\nmore"},
	}
	var b bytes.Buffer
	writeTable(&b, rows)
	out := b.String()
	for _, want := range []string{
		"XDP + AF_XDP (deep)|", "|0.10%|", "|0.000|", // loss of 1 in 1000; 999 frames in 2 s
		"|2.00|", "|0.50|", // AF_XDP vs tcpdump (999/500), vs ceiling (999/2000)
		"|20.0|", // ceiling program ns/packet
		"skipped|", "  libpcap: open libpcap on cap0: not built\n",
	} {
		if !strings.Contains(strings.ReplaceAll(out, " ", ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
