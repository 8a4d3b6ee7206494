package tcpreasm

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visorng/visor/decode"
)

func fixturesDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fx); err != nil {
		t.Skipf("shared fixtures absent: %v", err)
	}
	return fx
}

func isDNSPort(p uint16) bool { return p == 53 || p == 5353 || p == 5355 || p == 53000 }

// dnsCounter counts the DNS messages the framer emits.
type dnsCounter struct {
	messages, closes int
	bySide           [2]int
}

func (d *dnsCounter) Message(c *Conn, side Side, msg []byte, _ time.Time) {
	d.messages++
	d.bySide[side]++
}
func (d *dnsCounter) Closed(*Conn, CloseReason, time.Time) { d.closes++ }

// replay feeds the DNS-port TCP packets of a capture through a Reassembler
// and a LenPrefixed framer, as the pcap input does, and flushes at EOF.
func replay(t testing.TB, path string, cfg Config) (*dnsCounter, *Reassembler, *LenPrefixed) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	cnt := &dnsCounter{}
	lp, err := NewLenPrefixed(LenPrefixConfig{}, cnt)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, lp)
	if err != nil {
		t.Fatal(err)
	}
	var p decode.Packet
	var last time.Time
	for {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if decode.Decode(decode.LinkType(pr.LinkType()), data, &p) != nil || p.L4 != decode.L4TCP {
			continue
		}
		if !isDNSPort(p.SrcPort) && !isDNSPort(p.DstPort) {
			continue
		}
		p.Timestamp = ci.Timestamp
		last = ci.Timestamp
		r.Add(&p)
	}
	r.Flush(last)
	return cnt, r, lp
}

// tsharkDNSOverTCP counts the DNS messages tshark dissects in TCP. Wireshark
// does not reassemble out-of-order segments by default and then misses the
// DNS messages they carry (27 in dns_udp_tcp_random.pcap: 2853 instead of
// 1440 queries + 1440 replies), so the preference is turned on.
func tsharkDNSOverTCP(t *testing.T, path string) int {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	out, err := exec.Command(tshark, "-r", path, "-d", "tcp.port==53000,dns",
		"-o", "tcp.reassemble_out_of_order:TRUE",
		"-Y", "dns && tcp", "-T", "fields", "-e", "dns.id").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		for _, id := range strings.Split(line, ",") {
			if strings.TrimSpace(id) != "" {
				n++
			}
		}
	}
	return n
}

// TestCapturesMatchTshark: every DNS message tshark finds in TCP, we find.
func TestCapturesMatchTshark(t *testing.T) {
	dir := fixturesDir(t)
	for _, name := range []string{"dns_ipv4_tcp.pcap", "dns_ipv6_tcp.pcap", "dns_udp_tcp_random.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			want := tsharkDNSOverTCP(t, path)
			cnt, r, lp := replay(t, path, Config{})
			s, ls := r.Stats(), lp.Stats()
			t.Logf("%d messages (client %d, server %d), tshark %d; reasm %+v; framing %+v",
				cnt.messages, cnt.bySide[0], cnt.bySide[1], want, s, ls)
			if cnt.messages != want {
				t.Errorf("%d DNS messages, tshark %d", cnt.messages, want)
			}
			if s.OpenConns != 0 || s.TrackedConns != 0 || s.BufferedBytesNow != 0 || ls.BufferedNow != 0 {
				t.Errorf("state left after Flush: %+v %+v", s, ls)
			}
			if uint64(cnt.closes) != s.ConnsOpened {
				t.Errorf("%d closes for %d connections", cnt.closes, s.ConnsOpened)
			}
		})
	}
}

// BenchmarkReplay measures reassembly + framing per TCP segment on the
// largest DNS-over-TCP capture (decode included).
func BenchmarkReplay(b *testing.B) {
	path := filepath.Join(fixturesDir(b), "dns_udp_tcp_random.pcap")
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	pr, err := pcapgo.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var pkts []decode.Packet
	for {
		data, ci, err := pr.ReadPacketData()
		if err != nil {
			break
		}
		var p decode.Packet
		if decode.Decode(decode.LinkType(pr.LinkType()), data, &p) == nil && p.L4 == decode.L4TCP {
			p.Timestamp = ci.Timestamp
			pkts = append(pkts, p)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		lp, _ := NewLenPrefixed(LenPrefixConfig{}, &dnsCounter{})
		r, _ := New(Config{}, lp)
		for i := range pkts {
			r.Add(&pkts[i])
		}
		r.Flush(pkts[len(pkts)-1].Timestamp)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pkts)), "ns/segment")
}
