package afpacket

import (
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/bpf"
)

// tcpdump -dd -y EN10MB 'udp dst port 53'
var udpDst53Ether = []bpf.RawInstruction{
	{Op: 0x28, K: 0x0c}, {Op: 0x15, Jf: 4, K: 0x86dd}, {Op: 0x30, K: 0x14}, {Op: 0x15, Jf: 11, K: 0x11},
	{Op: 0x28, K: 0x38}, {Op: 0x15, Jt: 8, Jf: 9, K: 0x35}, {Op: 0x15, Jf: 8, K: 0x0800}, {Op: 0x30, K: 0x17},
	{Op: 0x15, Jf: 6, K: 0x11}, {Op: 0x28, K: 0x14}, {Op: 0x45, Jt: 4, K: 0x1fff}, {Op: 0xb1, K: 0x0e},
	{Op: 0x48, K: 0x10}, {Op: 0x15, Jf: 1, K: 0x35}, {Op: 0x6, K: 0x40000}, {Op: 0x6, K: 0},
}

// tcpdump -dd -y LINUX_SLL 'udp dst port 53'
var udpDst53SLL = []bpf.RawInstruction{
	{Op: 0x28, K: 0x0e}, {Op: 0x15, Jf: 4, K: 0x86dd}, {Op: 0x30, K: 0x16}, {Op: 0x15, Jf: 11, K: 0x11},
	{Op: 0x28, K: 0x3a}, {Op: 0x15, Jt: 8, Jf: 9, K: 0x35}, {Op: 0x15, Jf: 8, K: 0x0800}, {Op: 0x30, K: 0x19},
	{Op: 0x15, Jf: 6, K: 0x11}, {Op: 0x28, K: 0x16}, {Op: 0x45, Jt: 4, K: 0x1fff}, {Op: 0xb1, K: 0x10},
	{Op: 0x48, K: 0x12}, {Op: 0x15, Jf: 1, K: 0x35}, {Op: 0x6, K: 0x40000}, {Op: 0x6, K: 0},
}

func TestSocketFilter(t *testing.T) {
	t.Run("no filter accepts snaplen", func(t *testing.T) {
		got, err := socketFilter(nil, 1000, framingEthernet, true)
		if err != nil || !slices.Equal(got, []bpf.RawInstruction{{Op: 0x06, K: 1000}}) {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("ethernet clamps and bypasses vlan", func(t *testing.T) {
		got, err := socketFilter(udpDst53Ether, 1000, framingEthernet, true)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]bpf.RawInstruction{
			{Op: 0x20, K: 0xfffff000 + 48}, {Op: 0x15, Jt: 1}, {Op: 0x06, K: 1000},
		}, udpDst53Ether...)
		want[3+14].K = 1000 // ret #262144 capped
		if !slices.Equal(got, want) {
			t.Fatalf("got  %v\nwant %v", got, want)
		}
		if udpDst53Ether[14].K != 0x40000 {
			t.Fatal("input program modified")
		}
	})
	t.Run("no bypass", func(t *testing.T) {
		got, _ := socketFilter(udpDst53Ether, 65535, framingEthernet, false)
		if len(got) != len(udpDst53Ether) || got[0] != udpDst53Ether[0] {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("cooked rebased", func(t *testing.T) {
		got, err := socketFilter(udpDst53SLL, 65535, framingCooked, false)
		if err != nil {
			t.Fatal(err)
		}
		const net = 0xfff00000
		wantK := map[int]uint32{0: 0xfffff000, 2: net + 0x16 - 16, 4: net + 0x3a - 16, 7: net + 0x19 - 16, 9: net + 0x16 - 16, 11: net, 12: net + 2, 14: 65535}
		for i, k := range wantK {
			if got[i].K != k {
				t.Errorf("instruction %d: K = %#x, want %#x", i, got[i].K, k)
			}
		}
	})
}

func TestRebaseCookedErrors(t *testing.T) {
	tests := []struct {
		name string
		prog []bpf.RawInstruction
		ok   bool
	}{
		{"pkttype half", []bpf.RawInstruction{{Op: 0x28, K: 0}}, true},
		{"address byte", []bpf.RawInstruction{{Op: 0x30, K: 6}}, false},
		{"protocol as byte", []bpf.RawInstruction{{Op: 0x30, K: 14}}, false},
		{"indirect into header", []bpf.RawInstruction{{Op: 0x48, K: 4}}, false},
		{"msh into header", []bpf.RawInstruction{{Op: 0xb1, K: 2}}, false},
		{"ancillary untouched", []bpf.RawInstruction{{Op: 0x20, K: 0xfffff000 + 48}}, true},
	}
	for _, tt := range tests {
		err := rebaseCooked(slices.Clone(tt.prog))
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "af_packet") {
			t.Errorf("%s: error lacks context: %v", tt.name, err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := Options{Iface: "eth0"}.withDefaults()
	if err := ok.validate(4096); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	if ok.SnapLen != 65535 || ok.BlockSize*ok.BlockCount != 8<<20 {
		t.Fatalf("defaults: %+v", ok)
	}
	bad := []func(*Options){
		func(o *Options) { o.Iface = "" },
		func(o *Options) { o.SnapLen = 10 },
		func(o *Options) { o.SnapLen = MaxSnapLen + 1 },
		func(o *Options) { o.BlockSize = 4096*3 + 1 },
		func(o *Options) { o.BlockSize = 65536 }, // cannot hold 65535
		func(o *Options) { o.BlockCount = -1 },
		func(o *Options) { o.RetireTimeout = time.Microsecond },
		func(o *Options) { o.PollTimeout = time.Microsecond },
	}
	for i, mut := range bad {
		o := ok
		mut(&o)
		if err := o.validate(4096); err == nil {
			t.Errorf("case %d accepted: %+v", i, o)
		}
	}
}
