package pcapfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

// fixturesDir finds ../shared/fixtures next to the repository root, or skips.
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
			t.Skip("go.mod not found above the package directory")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fx); err != nil {
		t.Skipf("fixtures not available: %v", err)
	}
	return fx
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir(t), name))
	if err != nil {
		t.Skipf("fixture %s: %v", name, err)
	}
	return b
}

type rec struct {
	ts   time.Time
	data []byte
	orig int
	link decode.LinkType
}

// readAll drains a Reader, copying frames, and returns the terminal error.
func readAll(r *Reader) ([]rec, error) {
	var out []rec
	var f capture.Frame
	for {
		err := r.Next(&f)
		if err != nil {
			return out, err
		}
		if f.CapLen != len(f.Data) {
			return out, fmt.Errorf("CapLen %d != len(Data) %d", f.CapLen, len(f.Data))
		}
		out = append(out, rec{f.Timestamp, bytes.Clone(f.Data), f.OrigLen, f.LinkType})
	}
}

// readPcapgo is the reference: gopacket's reader.
func readPcapgo(t *testing.T, b []byte) []rec {
	t.Helper()
	var out []rec
	if binary.LittleEndian.Uint32(b) == magicNgBlock {
		r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		for {
			data, ci, err := r.ReadPacketData()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rec{ci.Timestamp, data, ci.Length, decode.LinkType(r.LinkType())})
		}
	}
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec{ci.Timestamp, data, ci.Length, decode.LinkType(r.LinkType())})
	}
}

func compareRecs(t *testing.T, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.ts.Equal(w.ts) || !bytes.Equal(g.data, w.data) || g.orig != w.orig || g.link != w.link {
			t.Fatalf("frame %d: got ts=%v len=%d orig=%d link=%d, want ts=%v len=%d orig=%d link=%d",
				i, g.ts, len(g.data), g.orig, g.link, w.ts, len(w.data), w.orig, w.link)
		}
	}
}

var fixtureCounts = map[string]int{
	"dns_ipv4_udp.pcap": 140, "dns_ipv4_tcp.pcap": 2100, "dns_ipv6_udp.pcap": 140,
	"dns_ipv6_tcp.pcap": 1800, "dns_udp_mixed_rcode.pcap": 24, "dns_udp_tcp_random.pcap": 16147,
	"dnssec.pcap": 14, "ecs.pcap": 66, "dhcp-flow.pcap": 8, "dhcpv6.pcap": 12, "bgp.pcap": 22,
	"nf1.pcap": 1, "nf5.pcap": 2, "nf7.pcap": 1, "nf9.pcap": 5, "ipfix.pcap": 43,
	"sflow_ipv6.pcap": 1, "sflow_keyed.pcap": 1,
}

func TestFixturesMatchPcapgo(t *testing.T) {
	dir := fixturesDir(t)
	for name, count := range fixtureCounts {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := readAll(r)
			if err != io.EOF {
				t.Fatalf("terminal error %v, want io.EOF", err)
			}
			if len(got) != count {
				t.Fatalf("got %d frames, want %d", len(got), count)
			}
			b, _ := os.ReadFile(path)
			compareRecs(t, got, readPcapgo(t, b))
			st := r.Stats()
			if st.Path != "pcap_file" || st.Received != uint64(count) {
				t.Fatalf("stats %+v", st)
			}
			var bytesWant uint64
			for _, g := range got {
				bytesWant += uint64(g.orig)
			}
			if st.Bytes != bytesWant {
				t.Fatalf("stats bytes %d, want %d", st.Bytes, bytesWant)
			}
		})
	}
}

func TestLinkTypes(t *testing.T) {
	if r := mustOpenBytes(t, fixture(t, "ipfix.pcap")); r.link != decode.LinkLinuxSLL {
		t.Fatalf("ipfix.pcap link %d", r.link)
	}
	for _, lt := range []uint32{0, 1, 101, 113, 228, 229, 276} {
		if _, err := NewReader(bytes.NewReader(classicHeader(binary.LittleEndian, magicMicro, lt)), "x"); err != nil {
			t.Errorf("link %d: %v", lt, err)
		}
	}
	_, err := NewReader(bytes.NewReader(classicHeader(binary.LittleEndian, magicMicro, 105)), "wifi.pcap")
	if !errors.Is(err, ErrUnsupportedLinkType) || !strings.Contains(err.Error(), "105") || !strings.Contains(err.Error(), "wifi.pcap") {
		t.Fatalf("unsupported link: %v", err)
	}
}

func mustOpenBytes(t *testing.T, b []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), "mem")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func classicHeader(order binary.ByteOrder, magic, link uint32) []byte {
	h := make([]byte, 24)
	order.PutUint32(h, magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 65535)
	order.PutUint32(h[20:], link)
	return h
}

// reencode rewrites a capture in another classic variant (byte order and
// timestamp resolution) so every magic is exercised against the same frames.
func reencode(recs []rec, order binary.ByteOrder, nano bool) []byte {
	magic := uint32(magicMicro)
	if nano {
		magic = magicNano
	}
	out := classicHeader(order, magic, uint32(recs[0].link))
	for _, r := range recs {
		h := make([]byte, 16)
		order.PutUint32(h, uint32(r.ts.Unix()))
		frac := uint32(r.ts.Nanosecond())
		if !nano {
			frac /= 1000
		}
		order.PutUint32(h[4:], frac)
		order.PutUint32(h[8:], uint32(len(r.data)))
		order.PutUint32(h[12:], uint32(r.orig))
		out = append(out, h...)
		out = append(out, r.data...)
	}
	return out
}

func TestClassicVariants(t *testing.T) {
	want := readPcapgo(t, fixture(t, "dns_udp_mixed_rcode.pcap"))
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, nano := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/nano=%v", order, nano), func(t *testing.T) {
				got, err := readAll(mustOpenBytes(t, reencode(want, order, nano)))
				if err != io.EOF {
					t.Fatal(err)
				}
				compareRecs(t, got, want)
			})
		}
	}
}

// toNg writes frames as pcapng with gopacket's writer (an independent
// encoder), with a nanosecond interface resolution.
func toNg(t *testing.T, recs []rec) []byte {
	t.Helper()
	var buf bytes.Buffer
	intf := pcapgo.NgInterface{LinkType: layers.LinkType(recs[0].link), SnapLength: 65535, TimestampResolution: 9}
	w, err := pcapgo.NewNgWriterInterface(&buf, intf, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		ci := gopacketCI(r)
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPcapng(t *testing.T) {
	for _, name := range []string{"dns_udp_mixed_rcode.pcap", "ipfix.pcap", "nf9.pcap"} {
		t.Run(name, func(t *testing.T) {
			want := readPcapgo(t, fixture(t, name))
			ng := toNg(t, want)
			got, err := readAll(mustOpenBytes(t, ng))
			if err != io.EOF {
				t.Fatal(err)
			}
			compareRecs(t, got, want)
			compareRecs(t, got, readPcapgo(t, ng))
		})
	}
}

func TestPcapngBigEndianAndSPB(t *testing.T) {
	// Hand-built big-endian section: SHB, IDB (µs default), an SPB and an
	// EPB, with an unknown block between them that must be skipped.
	be := binary.BigEndian
	block := func(typ uint32, body []byte) []byte {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		b := be.AppendUint32(nil, typ)
		b = be.AppendUint32(b, uint32(12+len(body)))
		b = append(b, body...)
		return be.AppendUint32(b, uint32(12+len(body)))
	}
	shb := be.AppendUint32(nil, ngByteOrder)
	shb = be.AppendUint16(shb, 1)
	shb = be.AppendUint16(shb, 0)
	shb = be.AppendUint64(shb, ^uint64(0))
	idb := be.AppendUint16(nil, 101)
	idb = be.AppendUint16(idb, 0)
	idb = be.AppendUint32(idb, 0)
	pkt := []byte{0x45, 0, 0, 20, 1, 2, 3}
	spb := be.AppendUint32(nil, uint32(len(pkt)))
	spb = append(spb, pkt...)
	epb := be.AppendUint32(nil, 0)
	epb = be.AppendUint32(epb, 0)
	epb = be.AppendUint32(epb, 1_500_000) // 1.5 s in µs
	epb = be.AppendUint32(epb, 3)
	epb = be.AppendUint32(epb, 100)
	epb = append(epb, pkt[:3]...)
	var file []byte
	file = append(file, block(magicNgBlock, shb)...)
	file = append(file, block(blockIDB, idb)...)
	file = append(file, block(blockSPB, spb)...)
	file = append(file, block(0x0BAD, []byte("custom"))...)
	file = append(file, block(blockEPB, epb)...)
	got, err := readAll(mustOpenBytes(t, file))
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0].data, pkt) || got[0].orig != len(pkt) ||
		!bytes.Equal(got[1].data, pkt[:3]) || got[1].orig != 100 || !got[1].ts.Equal(time.Unix(1, 5e8)) ||
		got[0].link != decode.LinkRaw {
		t.Fatalf("got %+v", got)
	}
}

// recordOffsets returns the file offset of every record (classic) or block
// (pcapng) start, and the end of the file.
func classicOffsets(t *testing.T, b []byte) []int64 {
	t.Helper()
	var offs []int64
	order := binary.ByteOrder(binary.LittleEndian)
	if binary.BigEndian.Uint32(b) == magicMicro || binary.BigEndian.Uint32(b) == magicNano {
		order = binary.BigEndian
	}
	for off := int64(24); off < int64(len(b)); {
		offs = append(offs, off)
		off += 16 + int64(order.Uint32(b[off+8:]))
	}
	return offs
}

func ngOffsets(b []byte) []int64 {
	var offs []int64
	for off := int64(0); off < int64(len(b)); {
		offs = append(offs, off)
		off += int64(binary.LittleEndian.Uint32(b[off+4:]))
	}
	return offs
}

// TestTruncation cuts captures at every offset: all complete frames before
// the cut must be delivered, then either io.EOF (cut on a boundary) or an
// error naming the offset of the partial record.
func TestTruncation(t *testing.T) {
	classic := fixture(t, "dns_udp_mixed_rcode.pcap")
	all := readPcapgo(t, classic)
	ng := toNg(t, all)
	cases := []struct {
		name         string
		file         []byte
		offsets      []int64
		headerBlocks int // leading offsets that are not packets
	}{
		{"classic", classic, classicOffsets(t, classic), 0},
		{"pcapng", ng, ngOffsets(ng), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for cut := 0; cut < len(tc.file); cut++ {
				r, err := NewReader(bytes.NewReader(tc.file[:cut]), "dns.pcap")
				if err != nil {
					if !strings.Contains(err.Error(), "pcapfile: dns.pcap: record at offset") {
						t.Fatalf("cut %d: open error %q lacks context", cut, err)
					}
					continue
				}
				got, err := readAll(r)
				// Complete records are those ending at or before the cut;
				// the first headerBlocks offsets are not packets.
				complete := 0
				var partial int64 = -1
				for i, off := range tc.offsets {
					end := int64(len(tc.file))
					if i+1 < len(tc.offsets) {
						end = tc.offsets[i+1]
					}
					if end <= int64(cut) {
						if i >= tc.headerBlocks {
							complete++
						}
						continue
					}
					if off < int64(cut) {
						partial = off
					}
					break
				}
				if len(got) != complete {
					t.Fatalf("cut %d: %d frames, want %d (err %v)", cut, len(got), complete, err)
				}
				if complete > len(all) {
					t.Fatalf("cut %d: %d frames, more than the file has", cut, complete)
				}
				compareRecs(t, got, all[:complete])
				if partial < 0 {
					if err != io.EOF {
						t.Fatalf("cut %d on a boundary: got %v, want io.EOF", cut, err)
					}
					continue
				}
				want := fmt.Sprintf("pcapfile: dns.pcap: record at offset %d: truncated", partial)
				if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("cut %d: got %v, want prefix %q", cut, err, want)
				}
				// The error is sticky.
				var f capture.Frame
				if err2 := r.Next(&f); err2 == nil || err2 == io.EOF {
					t.Fatalf("cut %d: Next after error returned %v", cut, err2)
				}
			}
		})
	}
}

func TestCorruptRecords(t *testing.T) {
	base := fixture(t, "dns_udp_mixed_rcode.pcap")
	offs := classicOffsets(t, base)
	third := offs[2]

	huge := bytes.Clone(base)
	binary.LittleEndian.PutUint32(huge[third+8:], 1<<30)
	badFrac := bytes.Clone(base)
	binary.LittleEndian.PutUint32(badFrac[third+4:], 2_000_000)

	for name, file := range map[string][]byte{"huge caplen": huge, "bad usec": badFrac} {
		t.Run(name, func(t *testing.T) {
			got, err := readAll(mustOpenBytes(t, file))
			if len(got) != 2 {
				t.Fatalf("got %d good frames before the bad record, want 2", len(got))
			}
			want := fmt.Sprintf("record at offset %d: bad record", third)
			if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want %q", err, want)
			}
		})
	}
}

func TestGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		n := rng.IntN(600)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		// Half the inputs get a valid magic so the record parser is reached.
		switch i % 4 {
		case 1:
			if n >= 24 {
				copy(b, classicHeader(binary.LittleEndian, magicMicro, 1))
			}
		case 2:
			if n >= 12 {
				binary.LittleEndian.PutUint32(b, magicNgBlock)
				binary.LittleEndian.PutUint32(b[8:], ngByteOrder)
			}
		}
		r, err := NewReader(bytes.NewReader(b), "garbage")
		if err != nil {
			continue
		}
		if _, err := readAll(r); err == nil {
			t.Fatal("readAll returned nil error")
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.pcap")); err == nil {
		t.Fatal("Open of a missing file succeeded")
	}
}

func TestOpenClose(t *testing.T) {
	dir := fixturesDir(t)
	r, err := Open(filepath.Join(dir, "nf5.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var f capture.Frame
	if err := r.Next(&f); err != nil {
		t.Fatal(err)
	}
	if f.Dir != decode.DirUnknown || f.LinkType != decode.LinkEthernet || f.Timestamp.IsZero() {
		t.Fatalf("frame %+v", f)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Next(&f); err == nil {
		t.Fatal("Next after Close succeeded")
	}
}

func TestNextAllocs(t *testing.T) {
	b := fixture(t, "dns_udp_tcp_random.pcap")
	for _, tc := range []struct {
		name string
		file []byte
	}{{"classic", b}, {"pcapng", toNg(t, readPcapgo(t, b)[:2000])}} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustOpenBytes(t, tc.file)
			var f capture.Frame
			allocs := testing.AllocsPerRun(1000, func() {
				if err := r.Next(&f); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("Next allocates %v times per frame", allocs)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	rec := []byte{1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 60, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef}
	f.Add(append(classicHeader(binary.LittleEndian, magicMicro, 1), rec...))
	f.Add(append(classicHeader(binary.BigEndian, magicNano, 101), rec...))
	// Real captures as seeds when the shared fixtures are present.
	if wd, err := os.Getwd(); err == nil {
		for _, name := range []string{"nf5.pcap", "nf9.pcap", "ipfix.pcap"} {
			if b, err := os.ReadFile(filepath.Join(wd, "..", "..", "..", "..", "shared", "fixtures", name)); err == nil {
				f.Add(b[:min(len(b), 2048)])
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		var fr capture.Frame
		for range 10000 {
			err := r.Next(&fr)
			if err != nil {
				return
			}
			if fr.CapLen > MaxCapLen || fr.CapLen != len(fr.Data) {
				t.Fatalf("frame of %d bytes", fr.CapLen)
			}
		}
	})
}

// BenchmarkNext reads dns_udp_tcp_random.pcap from memory, looping.
func BenchmarkNext(b *testing.B) {
	file := fixture(b, "dns_udp_tcp_random.pcap")
	r, err := NewReader(bytes.NewReader(file), "bench")
	if err != nil {
		b.Fatal(err)
	}
	var f capture.Frame
	var bytesRead int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := r.Next(&f)
		if err == io.EOF {
			b.StopTimer()
			r, _ = NewReader(bytes.NewReader(file), "bench")
			b.StartTimer()
			err = r.Next(&f)
		}
		if err != nil {
			b.Fatal(err)
		}
		bytesRead += int64(f.CapLen)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.SetBytes(bytesRead / int64(max(b.N, 1)))
}

func gopacketCI(r rec) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: r.orig}
}
