package main

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// frameSpec describes the one frame trafgen repeats: 64 bytes on the wire
// without FCS (14 Ethernet + 20 IPv4 + 8 UDP + 22 payload).
type frameSpec struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr
	SrcPort        uint16
	DstPort        uint16
}

const frameLen = 64

// trafgenConfig renders spec in trafgen's packet language. The source port
// cycles through 256 values (trafgen's runtime counters are one byte wide)
// so the frames belong to 256 flows, as the kernel's per-flow sampling and
// any fanout would see them; the UDP checksum is left 0 (allowed in IPv4).
func trafgenConfig(s frameSpec) string {
	var b strings.Builder
	hex := func(bs []byte) string {
		parts := make([]string, len(bs))
		for i, x := range bs {
			parts[i] = fmt.Sprintf("0x%02x", x)
		}
		return strings.Join(parts, ", ")
	}
	src, dst := s.Src.As4(), s.Dst.As4()
	ipLen := frameLen - 14
	udpLen := ipLen - 20
	fmt.Fprintf(&b, "/* visor-ng bench-capture: %d-byte UDP/IPv4 frames */\n{\n", frameLen)
	fmt.Fprintf(&b, "  %s,\n  %s,\n  c16(0x0800),\n", hex(s.DstMAC), hex(s.SrcMAC))
	fmt.Fprintf(&b, "  0x45, 0x00, c16(%d), c16(0), 0x40, 0x00, 64, 17, csumip(14, 33),\n", ipLen)
	fmt.Fprintf(&b, "  %s,\n  %s,\n", hex(src[:]), hex(dst[:]))
	fmt.Fprintf(&b, "  0x%02x, dinc(0, 255, 1), c16(%d), c16(%d), c16(0),\n", s.SrcPort>>8, s.DstPort, udpLen)
	fmt.Fprintf(&b, "  fill(0x55, %d)\n}\n", frameLen-42)
	return b.String()
}

var outgoingRE = regexp.MustCompile(`^\s*(\d+) packets outgoing`)

// parseTrafgen finds trafgen's own count of packets sent in its exit
// summary ("      876544 packets outgoing").
func parseTrafgen(out string) (uint64, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m := outgoingRE.FindStringSubmatch(sc.Text()); m != nil {
			return strconv.ParseUint(m[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("trafgen printed no \"packets outgoing\" line:\n%s", out)
}

var tcpdumpRE = regexp.MustCompile(`^(\d+) packets (captured|received by filter|dropped by kernel)`)

// tcpdumpStats are the three lines tcpdump prints to stderr on exit.
type tcpdumpStats struct {
	Captured, Received, Dropped uint64
}

func parseTcpdump(out string) (tcpdumpStats, error) {
	var s tcpdumpStats
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := tcpdumpRE.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		n, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			return s, err
		}
		switch m[2] {
		case "captured":
			s.Captured = n
		case "received by filter":
			s.Received = n
		case "dropped by kernel":
			s.Dropped = n
		}
		seen++
	}
	if seen != 3 {
		return s, fmt.Errorf("tcpdump printed %d of its 3 statistics lines:\n%s", seen, out)
	}
	return s, nil
}
