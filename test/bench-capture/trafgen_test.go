package main

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestTrafgenConfig(t *testing.T) {
	s := frameSpec{
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
		Src: netip.MustParseAddr("10.232.0.2"), Dst: netip.MustParseAddr("10.232.0.99"), SrcPort: 40000, DstPort: 9,
	}
	got := trafgenConfig(s)
	for _, want := range []string{
		"0x02, 0x00, 0x00, 0x00, 0x00, 0x02,\n  0x02, 0x00, 0x00, 0x00, 0x00, 0x01,\n  c16(0x0800)",
		"c16(50)", "csumip(14, 33)", "0x0a, 0xe8, 0x00, 0x02", "0x0a, 0xe8, 0x00, 0x63",
		"0x9c, dinc(0, 255, 1), c16(9), c16(30)", "fill(0x55, 22)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}

func TestParseTrafgen(t *testing.T) {
	out := "   128 bytes in total\nRunning! Hang up with ^C!\n\n\n      876544 packets outgoing\n    56098816 bytes outgoing\n" +
		"           1 sec, 999857 usec on CPU0 (368384 packets)\n"
	n, err := parseTrafgen(out)
	if err != nil || n != 876544 {
		t.Fatalf("parseTrafgen = %d, %v", n, err)
	}
	if _, err := parseTrafgen("Running!\n"); err == nil {
		t.Fatal("no error without the summary")
	}
}

func TestParseTcpdump(t *testing.T) {
	out := "tcpdump: listening on cap0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n" +
		"1234 packets captured\n1300 packets received by filter\n66 packets dropped by kernel\n"
	s, err := parseTcpdump(out)
	if err != nil || s != (tcpdumpStats{Captured: 1234, Received: 1300, Dropped: 66}) {
		t.Fatalf("parseTcpdump = %+v, %v", s, err)
	}
	if _, err := parseTcpdump("1 packets captured\n"); err == nil {
		t.Fatal("no error with lines missing")
	}
}
