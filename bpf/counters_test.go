package bpf

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestCountersAllUint64(t *testing.T) {
	typ := reflect.TypeOf(Counters{})
	n := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Name == "_" {
			continue
		}
		if f.Type.Kind() != reflect.Uint64 {
			t.Errorf("field %s is %v; Add assumes uint64 only", f.Name, f.Type)
		}
		n++
	}
	if n != int(counterFields) {
		t.Errorf("%d fields, counterFields %d", n, counterFields)
	}
}

func TestParseCounters(t *testing.T) {
	perCPU := []Counters{
		{Packets: 3, Bytes: 300, L3Ipv4: 2, L3Other: 1, L4Udp: 2, DnsPort: 1, Sampled: 2, NotSampled: 1, InternalError: 0},
		{Packets: 2, Bytes: 120, L3Ipv6: 2, L4Tcp: 1, L4Icmp: 1, TcpSyn: 1, Filtered: 2, InternalError: 7},
		{},
	}
	want := Counters{Packets: 5, Bytes: 420, L3Ipv4: 2, L3Ipv6: 2, L3Other: 1, L4Udp: 2, L4Tcp: 1, L4Icmp: 1,
		DnsPort: 1, TcpSyn: 1, Filtered: 2, Sampled: 2, NotSampled: 1, InternalError: 7}
	if got := ParseCounters(perCPU); got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got := ParseCounters(nil); got != (Counters{}) {
		t.Errorf("empty: %+v", got)
	}
}

func TestParseTotals(t *testing.T) {
	slots := [][]Counters{
		{{Packets: 1}, {Packets: 2}}, // unknown
		{{Packets: 10}},              // in
		{{Packets: 100}},             // out
		{{Packets: 1000}},            // matched unknown
		{},                           // matched in
		{{Packets: 5}, {Packets: 5}}, // matched out
	}
	tot, err := parseTotals(slots, true)
	if err != nil {
		t.Fatal(err)
	}
	if tot.Seen[DirUnknown].Packets != 3 || tot.Seen[DirIn].Packets != 10 || tot.Seen[DirOut].Packets != 100 {
		t.Errorf("seen %+v", tot.Seen)
	}
	if tot.AllSeen().Packets != 113 || tot.AllMatched().Packets != 1010 {
		t.Errorf("all seen %d, all matched %d", tot.AllSeen().Packets, tot.AllMatched().Packets)
	}
	unf, _ := parseTotals(slots, false)
	if unf.Matched != unf.Seen {
		t.Error("without a filter Matched must equal Seen")
	}
	if _, err := parseTotals(slots[:2], false); err == nil {
		t.Error("no error for missing slots")
	}
}

func TestParseRecord(t *testing.T) {
	rec := []byte{
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // ts
		0x03, 0, 0, 0, // ifindex
		0x40, 0x05, 0, 0, // wire_len 1344
		4, 0, 0, 0, // cap_len
		0x2a, 0x10, // vlan_tci
		2,                            // direction
		0x03,                         // flags
		0xde, 0xad, 0xbe, 0xef, 0xff, // frame + slack
	}
	h, frame, err := ParseRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := RecordHeader{TsNs: 0x0102030405060708, Ifindex: 3, WireLen: 1344, CapLen: 4, VlanTci: 0x102a,
		Direction: uint8(DirOut), Flags: RecordEgress | RecordVLAN}
	if h != want {
		t.Errorf("header %+v, want %+v", h, want)
	}
	if string(frame) != "\xde\xad\xbe\xef" {
		t.Errorf("frame %x", frame)
	}
	if _, _, err := ParseRecord(rec[:10]); !errors.Is(err, ErrShortRecord) {
		t.Errorf("short header: %v", err)
	}
	if _, _, err := ParseRecord(rec[:RecordHeaderLen+3]); !errors.Is(err, ErrShortRecord) {
		t.Errorf("short frame: %v", err)
	}
}

func TestBuildConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		check func(xdpConfig) bool
		fail  bool
	}{
		{"defaults", Options{}, func(c xdpConfig) bool {
			return c.SampleRate == 100 && c.Snaplen == MaxSnapLen && c.Flags == 0 && c.XdpDefaultAction == xdpDrop
		}, false},
		{"clamp", Options{SampleRate: 250, SnapLen: 1 << 20}, func(c xdpConfig) bool {
			return c.SampleRate == 100 && c.Snaplen == MaxSnapLen
		}, false},
		{"negative rate", Options{SampleRate: -3}, func(c xdpConfig) bool { return c.SampleRate == 1 }, false},
		{"flags", Options{
			SampleRate: 10, SnapLen: 96, DirectionFromHook: true, ExtraDNSPorts: []uint16{8853},
			HostNets:         []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
			DefaultXDPAction: XDPPass,
		}, func(c xdpConfig) bool {
			return c.SampleRate == 10 && c.Snaplen == 96 && c.XdpDefaultAction == xdpPass &&
				c.Flags == cfgDirFromHook|cfgExtraDNS|cfgHostV4|cfgHostV6
		}, false},
		{"bad action", Options{DefaultXDPAction: 7}, nil, true},
		{"bad prefix", Options{HostNets: []netip.Prefix{{}}}, nil, true},
		{"bad ring", Options{RingBytes: 5000}, nil, true},
		{"too many ports", Options{ExtraDNSPorts: make([]uint16, MaxExtraDNSPorts+1)}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := buildConfig(tc.opts)
			if tc.fail {
				if !errors.Is(err, ErrInvalidOptions) {
					t.Fatalf("error %v, want ErrInvalidOptions", err)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("config %+v, err %v", c, err)
			}
		})
	}
}

func TestHostNetKeys(t *testing.T) {
	v4, v6, err := splitHostNets([]netip.Prefix{
		netip.MustParsePrefix("192.0.2.77/24"), // host bits are masked off
		netip.MustParsePrefix("2001:db8::1/64"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(v4) != 1 || v4[0].Prefixlen != 24 || v4[0].Addr != 0x000200c0 {
		t.Errorf("v4 %+v", v4)
	}
	if len(v6) != 1 || v6[0].Prefixlen != 64 || v6[0].Addr != [4]uint32{0xb80d0120, 0, 0, 0} {
		t.Errorf("v6 %+x", v6)
	}
}
