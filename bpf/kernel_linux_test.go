package bpf

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	classic "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/visorng/visor/bpf/internal/frames"
	"github.com/visorng/visor/bpf/internal/testutil"
)

const (
	retXDPDrop     = 1
	retXDPPass     = 2
	retTCUnspec    = 0xffffffff // TC_ACT_UNSPEC / TCX_NEXT
	firstKernelXDP = 6          // tcx, ring buffer and everything else we use exist from 6.6
)

var (
	hostV4  = netip.MustParseAddr("192.0.2.10")
	peerV4  = netip.MustParseAddr("198.51.100.1")
	otherV4 = netip.MustParseAddr("203.0.113.5")
	hostV6  = netip.MustParseAddr("2001:db8:1::10")
	peerV6  = netip.MustParseAddr("2001:db8:ffff::1")
	hostSet = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}
)

func loadXDP(t testing.TB, o Options) *XDPObjects {
	t.Helper()
	testutil.RequireRoot(t)
	objs, err := LoadXDP(o)
	testutil.CheckFeature(t, "XDP programs", 6, 6, err)
	t.Cleanup(func() { objs.Close() })
	return objs
}

func loadTC(t testing.TB, o Options) *TCObjects {
	t.Helper()
	testutil.RequireRoot(t)
	objs, err := LoadTC(o)
	testutil.CheckFeature(t, "TC programs", 6, 6, err)
	t.Cleanup(func() { objs.Close() })
	return objs
}

func run(t testing.TB, p *ebpf.Program, frame []byte) uint32 {
	t.Helper()
	ret, err := p.Run(&ebpf.RunOptions{Data: frame})
	if err != nil {
		t.Fatalf("run %s on %d bytes: %v", p, len(frame), err)
	}
	return ret
}

type counterReader interface{ Counters() (Totals, error) }

func totals(t testing.TB, o counterReader) Totals {
	t.Helper()
	tot, err := o.Counters()
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

func sub(a, b Counters) Counters {
	aw, bw := a.words(), b.words()
	var d Counters
	dw := d.words()
	for i := range dw {
		dw[i] = aw[i] - bw[i]
	}
	return d
}

// class is the expected classification of one frame.
type class struct {
	dir                       Direction
	ipv4, ipv6                bool
	udp, tcp, icmp, otherL4   bool
	frag, dns, syn, malformed bool
}

func (c class) counters(frameLen int) Counters {
	b := func(v bool) uint64 {
		if v {
			return 1
		}
		return 0
	}
	return Counters{
		Packets: 1, Bytes: uint64(frameLen),
		L3Ipv4: b(c.ipv4), L3Ipv6: b(c.ipv6), L3Other: b(!c.ipv4 && !c.ipv6),
		L4Udp: b(c.udp), L4Tcp: b(c.tcp), L4Icmp: b(c.icmp), L4Other: b(c.otherL4),
		Fragments: b(c.frag), DnsPort: b(c.dns), TcpSyn: b(c.syn), Malformed: b(c.malformed),
	}
}

type frameCase struct {
	name  string
	frame []byte
	want  class
}

func classCases() []frameCase {
	udp := func(src, dst netip.Addr, sp, dp uint16) frames.Spec {
		return frames.Spec{Src: src, Dst: dst, Proto: frames.ProtoUDP, SrcPort: sp, DstPort: dp, Payload: make([]byte, 20)}
	}
	with := func(s frames.Spec, f func(*frames.Spec)) frames.Spec { f(&s); return s }
	b := frames.Build
	eightExt := []uint8{0, 60, 43, 60, 43, 60, 43}
	tcpHdrCut := b(frames.Spec{Src: otherV4, Dst: peerV4, Proto: frames.ProtoTCP, SrcPort: 1, DstPort: 2})
	return []frameCase{
		{"udp4 dns in", b(udp(peerV4, hostV4, 40000, 53)), class{dir: DirIn, ipv4: true, udp: true, dns: true}},
		{"udp4 mdns out", b(udp(hostV4, peerV4, 5353, 5353)), class{dir: DirOut, ipv4: true, udp: true, dns: true}},
		{"udp4 llmnr unknown", b(udp(otherV4, peerV4, 5355, 1234)), class{ipv4: true, udp: true, dns: true}},
		{"udp4 extra dns port", b(udp(otherV4, peerV4, 1234, 8853)), class{ipv4: true, udp: true, dns: true}},
		{"udp4 plain", b(udp(otherV4, peerV4, 1234, 9999)), class{ipv4: true, udp: true}},
		{"tcp4 syn 53000", b(frames.Spec{Src: peerV4, Dst: hostV4, Proto: frames.ProtoTCP, SrcPort: 4000, DstPort: 53000, SYN: true}),
			class{dir: DirIn, ipv4: true, tcp: true, dns: true, syn: true}},
		{"tcp4 ack", b(frames.Spec{Src: hostV4, Dst: peerV4, Proto: frames.ProtoTCP, SrcPort: 443, DstPort: 4000}),
			class{dir: DirOut, ipv4: true, tcp: true}},
		{"icmp4", b(frames.Spec{Src: peerV4, Dst: hostV4, Proto: frames.ProtoICMP}), class{dir: DirIn, ipv4: true, icmp: true}},
		{"gre4", b(frames.Spec{Src: peerV4, Dst: otherV4, Proto: frames.ProtoGRE, Payload: make([]byte, 30)}), class{ipv4: true, otherL4: true}},
		{"ipv4 options", b(with(udp(peerV4, hostV4, 1, 53), func(s *frames.Spec) { s.IPv4Options = 40 })),
			class{dir: DirIn, ipv4: true, udp: true, dns: true}},
		{"ipv4 first fragment", b(with(udp(peerV4, hostV4, 1, 53), func(s *frames.Spec) { s.MoreFrags = true })),
			class{dir: DirIn, ipv4: true, udp: true, dns: true, frag: true}},
		{"ipv4 later fragment", b(with(udp(peerV4, hostV4, 1, 53), func(s *frames.Spec) { s.FragOffset = 100 })),
			class{dir: DirIn, ipv4: true, udp: true, frag: true}},
		{"vlan udp4", b(with(udp(peerV4, hostV4, 1, 53), func(s *frames.Spec) { s.VLANs = []uint16{7} })),
			class{dir: DirIn, ipv4: true, udp: true, dns: true}},
		{"qinq udp6", b(with(udp(hostV6, peerV6, 53, 1), func(s *frames.Spec) { s.VLANs = []uint16{7, 8} })),
			class{dir: DirOut, ipv6: true, udp: true, dns: true}},
		{"three tags", b(with(udp(hostV6, peerV6, 53, 1), func(s *frames.Spec) { s.VLANs = []uint16{7, 8, 9} })),
			class{}},
		{"udp6 dns in", b(udp(peerV6, hostV6, 1, 53)), class{dir: DirIn, ipv6: true, udp: true, dns: true}},
		{"icmp6", b(frames.Spec{Src: peerV6, Dst: peerV6, Proto: frames.ProtoICMPv6}), class{ipv6: true, icmp: true}},
		{"ipv6 ext headers", b(with(udp(peerV6, hostV6, 1, 53), func(s *frames.Spec) {
			s.V6Ext = []uint8{frames.ExtHopByHop, frames.ExtRouting, frames.ExtDestOpts, frames.ExtAH}
		})), class{dir: DirIn, ipv6: true, udp: true, dns: true}},
		{"ipv6 five ext + fragment", b(with(udp(peerV6, hostV6, 1, 53), func(s *frames.Spec) {
			s.V6Ext = []uint8{0, 43, 60, 51, 60}
			s.MoreFrags = true
		})), class{dir: DirIn, ipv6: true, udp: true, dns: true, frag: true}},
		{"ipv6 later fragment", b(with(udp(peerV6, hostV6, 1, 53), func(s *frames.Spec) {
			s.V6Ext = []uint8{frames.ExtHopByHop}
			s.FragOffset = 9
		})), class{dir: DirIn, ipv6: true, udp: true, frag: true}},
		{"ipv6 too many ext", b(with(udp(peerV6, hostV6, 1, 53), func(s *frames.Spec) { s.V6Ext = eightExt })),
			class{dir: DirIn, ipv6: true, otherL4: true}},
		{"arp", frames.NonIP(nil, 0x0806, make([]byte, 28)), class{}},
		{"ipv4 ethertype, no header", frames.NonIP(nil, 0x0800, nil), class{ipv4: true, otherL4: true, malformed: true}},
		{"ipv4 bad ihl", func() []byte {
			f := b(udp(peerV4, hostV4, 1, 53))
			f[14] = 0x43
			return f
		}(), class{ipv4: true, otherL4: true, malformed: true}},
		{"tcp header cut", tcpHdrCut[:14+20+10], class{ipv4: true, tcp: true, malformed: true}},
		{"vlan tag cut", frames.NonIP([]uint16{3}, 0x0800, nil)[:16], class{malformed: true}},
	}
}

var testOpts = Options{
	HostNets:         hostSet,
	ExtraDNSPorts:    []uint16{8853},
	DefaultXDPAction: XDPPass,
}

// TestXDPClassifies checks every category counter, the direction and the
// fate of single frames. With no AF_XDP socket bound, a sampled frame's
// redirect fails: it is counted as deliver_failed and gets the default action.
func TestXDPClassifies(t *testing.T) {
	objs := loadXDP(t, testOpts)
	for _, tc := range classCases() {
		t.Run(tc.name, func(t *testing.T) {
			before := totals(t, objs)
			if got := run(t, objs.Program(), tc.frame); got != retXDPPass {
				t.Errorf("verdict %d, want XDP_PASS", got)
			}
			after := totals(t, objs)
			want := tc.want.counters(len(tc.frame))
			want.DeliverFailed = 1
			for d := range dirCount {
				got := sub(after.Seen[d], before.Seen[d])
				if d != tc.want.dir {
					if got != (Counters{}) {
						t.Errorf("direction %v changed: %+v", d, got)
					}
					continue
				}
				if got != want {
					t.Errorf("direction %v:\n got %+v\nwant %+v", d, got, want)
				}
			}
			if after.Matched != after.Seen {
				t.Error("without a filter Matched must equal Seen")
			}
		})
	}
}

// TestTCClassifies runs the same frames through the TC ingress program.
func TestTCClassifies(t *testing.T) {
	objs := loadTC(t, testOpts)
	for _, tc := range classCases() {
		t.Run(tc.name, func(t *testing.T) {
			before := totals(t, objs)
			ret, err := objs.Ingress().Run(&ebpf.RunOptions{Data: tc.frame})
			if err != nil {
				if isEINVAL(err) && len(tc.frame) < 14+40 {
					t.Skipf("skb test harness refuses this frame: %v", err)
				}
				t.Fatal(err)
			}
			if ret != retTCUnspec {
				t.Errorf("verdict %d, want TC_ACT_UNSPEC", int32(ret))
			}
			got := sub(totals(t, objs).Seen[tc.want.dir], before.Seen[tc.want.dir])
			want := tc.want.counters(len(tc.frame))
			want.Sampled = 1
			if got != want {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func isEINVAL(err error) bool { return errors.Is(err, unix.EINVAL) }

// TestTruncatedFrames cuts full frames at every length the test harness
// accepts: each run must succeed and count the packet with its length, and
// the fates must add up to the packets.
func TestTruncatedFrames(t *testing.T) {
	x := loadXDP(t, testOpts)
	full := []frames.Spec{
		{VLANs: []uint16{1, 2}, Src: peerV4, Dst: hostV4, Proto: frames.ProtoUDP, SrcPort: 9, DstPort: 53, Payload: []byte("abc"), IPv4Options: 8},
		{VLANs: []uint16{5}, Src: peerV6, Dst: hostV6, Proto: frames.ProtoTCP, SrcPort: 9, DstPort: 53, SYN: true,
			V6Ext: []uint8{frames.ExtHopByHop, frames.ExtAH, frames.ExtDestOpts}, MoreFrags: true},
	}
	var packets, bytes uint64
	for _, s := range full {
		f := frames.Build(s)
		for n := 14; n <= len(f); n++ {
			if got := run(t, x.Program(), f[:n]); got != retXDPPass {
				t.Fatalf("len %d: verdict %d", n, got)
			}
			packets++
			bytes += uint64(n)
		}
	}
	all := totals(t, x).AllSeen()
	if all.Packets != packets || all.Bytes != bytes {
		t.Errorf("counted %d packets / %d bytes, ran %d / %d", all.Packets, all.Bytes, packets, bytes)
	}
	if fates := all.Filtered + all.Sampled + all.NotSampled + all.DeliverFailed + all.InternalError; fates != packets {
		t.Errorf("fates sum to %d, packets %d", fates, packets)
	}
	if l3 := all.L3Ipv4 + all.L3Ipv6 + all.L3Other; l3 != packets {
		t.Errorf("L3 counters sum to %d, packets %d", l3, packets)
	}
	if l4 := all.L4Udp + all.L4Tcp + all.L4Icmp + all.L4Other; l4 != all.L3Ipv4+all.L3Ipv6 {
		t.Errorf("L4 counters sum to %d, IP packets %d", l4, all.L3Ipv4+all.L3Ipv6)
	}
	if all.Malformed == 0 {
		t.Error("no truncated frame counted as malformed")
	}
}

// flowFrames returns n distinct UDP flows, each as (forward, reverse) frames.
func flowFrames(n int) [][2][]byte {
	out := make([][2][]byte, n)
	for i := range out {
		sp := uint16(10000 + i)
		src := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
		out[i] = [2][]byte{
			frames.Build(frames.Spec{Src: src, Dst: peerV4, Proto: frames.ProtoUDP, SrcPort: sp, DstPort: 53}),
			frames.Build(frames.Spec{Src: peerV4, Dst: src, Proto: frames.ProtoUDP, SrcPort: 53, DstPort: sp}),
		}
	}
	return out
}

// TestXDPSampling checks the per-flow decision at 0, 100 and 50 percent:
// both directions of a flow always share it, and 50% picks about half.
func TestXDPSampling(t *testing.T) {
	x := loadXDP(t, Options{DefaultXDPAction: XDPDrop})
	flows := flowFrames(400)
	sampled := func(frame []byte) bool {
		before := totals(t, x).AllSeen()
		run(t, x.Program(), frame)
		d := sub(totals(t, x).AllSeen(), before)
		if d.Packets != 1 || d.DeliverFailed+d.NotSampled != 1 {
			t.Fatalf("unexpected delta %+v", d)
		}
		return d.DeliverFailed == 1 // sampled, then the redirect fails without a socket
	}
	for _, rate := range []int{0, 100, 50} {
		if err := x.SetSampleRate(rate); err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, f := range flows {
			fwd, rev := sampled(f[0]), sampled(f[1])
			if fwd != rev {
				t.Fatalf("rate %d flow %d: forward sampled %v, reverse %v", rate, i, fwd, rev)
			}
			if again := sampled(f[0]); again != fwd {
				t.Fatalf("rate %d flow %d: decision changed", rate, i)
			}
			if fwd {
				n++
			}
		}
		switch {
		case rate == 0 && n != 0, rate == 100 && n != len(flows):
			t.Errorf("rate %d: %d of %d flows sampled", rate, n, len(flows))
		case rate == 50 && (n < len(flows)*35/100 || n > len(flows)*65/100):
			t.Errorf("rate 50: %d of %d flows sampled", n, len(flows))
		}
		t.Logf("rate %d: %d of %d flows sampled", rate, n, len(flows))
	}
	if err := x.SetSampleRate(101); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("rate 101: %v", err)
	}
}

// udpPort53 is tcpdump -dd 'udp port 53' for Ethernet.
var udpPort53 = []classic.Instruction{
	classic.LoadAbsolute{Off: 12, Size: 2},
	classic.JumpIf{Cond: classic.JumpEqual, Val: 0x86dd, SkipFalse: 6},
	classic.LoadAbsolute{Off: 20, Size: 1},
	classic.JumpIf{Cond: classic.JumpEqual, Val: 17, SkipFalse: 15},
	classic.LoadAbsolute{Off: 54, Size: 2},
	classic.JumpIf{Cond: classic.JumpEqual, Val: 53, SkipTrue: 12},
	classic.LoadAbsolute{Off: 56, Size: 2},
	classic.JumpIf{Cond: classic.JumpEqual, Val: 53, SkipTrue: 10, SkipFalse: 11},
	classic.JumpIf{Cond: classic.JumpEqual, Val: 0x0800, SkipFalse: 10},
	classic.LoadAbsolute{Off: 23, Size: 1},
	classic.JumpIf{Cond: classic.JumpEqual, Val: 17, SkipFalse: 8},
	classic.LoadAbsolute{Off: 20, Size: 2},
	classic.JumpIf{Cond: classic.JumpBitsSet, Val: 0x1fff, SkipTrue: 6},
	classic.LoadMemShift{Off: 14},
	classic.LoadIndirect{Off: 14, Size: 2},
	classic.JumpIf{Cond: classic.JumpEqual, Val: 53, SkipTrue: 2},
	classic.LoadIndirect{Off: 16, Size: 2},
	classic.JumpIf{Cond: classic.JumpEqual, Val: 53, SkipFalse: 1},
	classic.RetConstant{Val: 262144},
	classic.RetConstant{Val: 0},
}

// TestFilter loads 'udp port 53' into both programs: matching frames are
// counted in Matched and delivered, the rest counted as filtered.
func TestFilter(t *testing.T) {
	dns := frames.Build(frames.Spec{Src: peerV4, Dst: hostV4, Proto: frames.ProtoUDP, SrcPort: 3333, DstPort: 53})
	dns6 := frames.Build(frames.Spec{Src: hostV6, Dst: peerV6, Proto: frames.ProtoUDP, SrcPort: 53, DstPort: 3333})
	tcp := frames.Build(frames.Spec{Src: peerV4, Dst: hostV4, Proto: frames.ProtoTCP, SrcPort: 3333, DstPort: 53, SYN: true})
	arp := frames.NonIP(nil, 0x0806, make([]byte, 28))
	o := testOpts
	o.Filter = udpPort53
	o.DefaultXDPAction = XDPDrop

	check := func(t *testing.T, c counterReader, sampledField func(Counters) uint64) {
		tot := totals(t, c)
		seen, matched := tot.AllSeen(), tot.AllMatched()
		if seen.Packets != 4 || seen.Filtered != 2 || sampledField(seen) != 2 {
			t.Errorf("seen %+v", seen)
		}
		if matched.Packets != 2 || matched.L4Udp != 2 || matched.DnsPort != 2 || matched.L3Ipv4 != 1 ||
			matched.L3Ipv6 != 1 || sampledField(matched) != 2 || matched.Filtered != 0 || matched.TcpSyn != 0 {
			t.Errorf("matched %+v", matched)
		}
		if tot.Matched[DirIn].Packets != 1 || tot.Matched[DirOut].Packets != 1 || tot.Seen[DirIn].Packets != 2 {
			t.Errorf("by direction: seen %+v matched %+v", tot.Seen, tot.Matched)
		}
	}
	t.Run("xdp", func(t *testing.T) {
		x := loadXDP(t, o)
		for _, f := range [][]byte{dns, dns6, tcp, arp} {
			if got := run(t, x.Program(), f); got != retXDPDrop {
				t.Errorf("verdict %d", got)
			}
		}
		check(t, x, func(c Counters) uint64 { return c.DeliverFailed })
	})
	t.Run("tc", func(t *testing.T) {
		c := loadTC(t, o)
		for _, f := range [][]byte{dns, dns6, tcp, arp} {
			if got := run(t, c.Egress(), f); got != retTCUnspec {
				t.Errorf("verdict %d", int32(got))
			}
		}
		check(t, c, func(c Counters) uint64 { return c.Sampled })
		recs := readRecords(t, c, 2)
		if len(recs) != 2 {
			t.Errorf("%d ring records, want 2", len(recs))
		}
	})
}

type record struct {
	hdr   RecordHeader
	frame []byte
}

// readRecords drains up to max records from the TC ring buffer.
func readRecords(t *testing.T, c *TCObjects, max int) []record {
	t.Helper()
	rd, err := ringbuf.NewReader(c.Ring())
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []record
	for len(out) < max {
		rd.SetDeadline(time.Now().Add(200 * time.Millisecond))
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h, frame, err := ParseRecord(rec.RawSample)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, record{h, append([]byte(nil), frame...)})
	}
	return out
}

// TestTCRingRecords checks the records of sampled packets: snap length,
// wire length, hook side, direction from the hook, and the bytes.
func TestTCRingRecords(t *testing.T) {
	c := loadTC(t, Options{SnapLen: 64, DirectionFromHook: true, WakeupThreshold: 1})
	small := frames.Build(frames.Spec{Src: peerV4, Dst: otherV4, Proto: frames.ProtoUDP, SrcPort: 1, DstPort: 2})
	big := frames.Build(frames.Spec{Src: peerV6, Dst: peerV6, Proto: frames.ProtoTCP, SrcPort: 1, DstPort: 2, Payload: make([]byte, 1400)})
	run(t, c.Ingress(), small)
	run(t, c.Egress(), big)
	recs := readRecords(t, c, 3)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	for i, tc := range []struct {
		frame  []byte
		egress bool
		dir    Direction
	}{{small, false, DirIn}, {big, true, DirOut}} {
		r := recs[i]
		wantCap := min(len(tc.frame), 64)
		if int(r.hdr.WireLen) != len(tc.frame) || int(r.hdr.CapLen) != wantCap || string(r.frame) != string(tc.frame[:wantCap]) {
			t.Errorf("record %d: header %+v, %d bytes", i, r.hdr, len(r.frame))
		}
		if (r.hdr.Flags&RecordEgress != 0) != tc.egress || Direction(r.hdr.Direction) != tc.dir {
			t.Errorf("record %d: flags %#x direction %d", i, r.hdr.Flags, r.hdr.Direction)
		}
		if r.hdr.TsNs == 0 || r.hdr.Ifindex == 0 {
			t.Errorf("record %d: timestamp %d ifindex %d", i, r.hdr.TsNs, r.hdr.Ifindex)
		}
	}
	tot := totals(t, c)
	if tot.Seen[DirIn].Packets != 1 || tot.Seen[DirOut].Packets != 1 || tot.AllSeen().Sampled != 2 {
		t.Errorf("totals %+v", tot.Seen)
	}
}

// TestTCRingFull fills a one-page ring: reserve failures are counted and the
// fates still add up.
func TestTCRingFull(t *testing.T) {
	c := loadTC(t, Options{RingBytes: 4096})
	f := frames.Build(frames.Spec{Src: peerV4, Dst: otherV4, Proto: frames.ProtoUDP, SrcPort: 1, DstPort: 2, Payload: make([]byte, 1000)})
	for range 10 {
		run(t, c.Ingress(), f)
	}
	all := totals(t, c).AllSeen()
	if all.Packets != 10 || all.DeliverFailed == 0 || all.Sampled == 0 || all.Sampled+all.DeliverFailed != 10 {
		t.Errorf("totals %+v", all)
	}
}

// TestXDPDropCeiling checks the counter-only benchmark program.
func TestXDPDropCeiling(t *testing.T) {
	testutil.RequireRoot(t)
	var objs xdpdropObjects
	testutil.CheckFeature(t, "XDP", 6, 6, loadXdpdropObjects(&objs, nil))
	defer objs.Close()
	f := frames.Build(frames.Spec{Src: peerV4, Dst: otherV4, Proto: frames.ProtoUDP})
	for range 3 {
		if got := run(t, objs.XdpDropCount, f); got != retXDPDrop {
			t.Fatalf("verdict %d", got)
		}
	}
	var per []xdpdropDropCounters
	if err := objs.DropCounters.Lookup(uint32(0), &per); err != nil {
		t.Fatal(err)
	}
	var p, b uint64
	for _, c := range per {
		p += c.Packets
		b += c.Bytes
	}
	if p != 3 || b != 3*uint64(len(f)) {
		t.Errorf("%d packets %d bytes", p, b)
	}
}
