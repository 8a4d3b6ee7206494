package iface

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"testing/fstest"
)

func sysfsFixture() fstest.MapFS {
	f := fstest.MapFS{}
	add := func(name, flags, rx, tx string, queues ...string) {
		f[name+"/flags"] = &fstest.MapFile{Data: []byte(flags + "\n")}
		f[name+"/statistics/rx_packets"] = &fstest.MapFile{Data: []byte(rx + "\n")}
		f[name+"/statistics/tx_packets"] = &fstest.MapFile{Data: []byte(tx + "\n")}
		for _, q := range queues {
			f[name+"/queues/"+q+"/x"] = &fstest.MapFile{Data: []byte("0")}
		}
	}
	add("lo", "0x9", "900000", "900000", "rx-0", "tx-0")
	add("eth0", "0x1003", "10000", "2000", "rx-0", "rx-1", "rx-2", "rx-3", "tx-0", "tx-1")
	add("eth1", "0x1003", "5000", "10", "rx-0", "tx-0")
	add("eth2", "0x1002", "99999999", "1") // down
	return f
}

func listFixture() ([]Interface, error) {
	return []Interface{
		{Name: "lo", Index: 1, MTU: 65536, Up: true, Loopback: true,
			Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128")}},
		{Name: "eth0", Index: 2, MTU: 1500, Up: true,
			Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/24"), netip.MustParsePrefix("fe80::1/64")}},
		{Name: "eth1", Index: 3, MTU: 9000, Up: true,
			Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.1.2/16"), netip.MustParsePrefix("2001:db8::2/64")}},
		{Name: "eth2", Index: 4, MTU: 1500},
	}, nil
}

func TestResolve(t *testing.T) {
	tests := []struct {
		spec      string
		name      string
		rxQueues  int
		wantErrIs error
	}{
		{spec: "eth0", name: "eth0", rxQueues: 4},
		{spec: " eth1 ", name: "eth1", rxQueues: 1},
		{spec: "eth2", name: "eth2", rxQueues: 1}, // no queues dir
		{spec: "auto", name: "eth0", rxQueues: 4},
		{spec: "10.0.0.5", name: "eth0", rxQueues: 4},
		{spec: "2001:db8::2", name: "eth1", rxQueues: 1},
		{spec: "fe80::1%eth0", name: "eth0", rxQueues: 4},
		{spec: "::ffff:192.168.1.2", name: "eth1", rxQueues: 1},
		{spec: "127.0.0.1", name: "lo", rxQueues: 1},
		{spec: "10.0.0.6", wantErrIs: ErrNotFound},
		{spec: "wlan0", wantErrIs: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := resolve(tt.spec, sysfsFixture(), listFixture)
			if tt.wantErrIs != nil {
				if !errors.Is(err, tt.wantErrIs) {
					t.Fatalf("err = %v, want %v", err, tt.wantErrIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.name || got.NumRxQueues != tt.rxQueues {
				t.Fatalf("got %s with %d rx queues, want %s with %d", got.Name, got.NumRxQueues, tt.name, tt.rxQueues)
			}
		})
	}
}

func TestResolveAutoNothing(t *testing.T) {
	onlyLo := func() ([]Interface, error) { return []Interface{{Name: "lo", Loopback: true, Up: true}}, nil }
	_, err := resolve("auto", sysfsFixture(), onlyLo)
	if !errors.Is(err, ErrNoAutoInterface) || err.Error() != "iface was set to 'auto' but no interface was found" {
		t.Fatalf("err = %v", err)
	}
	if _, err := resolve("", sysfsFixture(), listFixture); err == nil {
		t.Fatal("empty spec accepted")
	}
}

func TestPickBusiest(t *testing.T) {
	tests := []struct {
		name string
		in   []Counters
		want string
		ok   bool
	}{
		{"empty", nil, "", false},
		{"loopback only", []Counters{{Name: "lo", Flags: 0x9, RxPackets: 5}}, "", false},
		{"down skipped", []Counters{{Name: "a", Flags: 0x1002, RxPackets: 100}, {Name: "b", Flags: 0x1003}}, "b", true},
		{"sum rx+tx", []Counters{{Name: "a", Flags: 1, RxPackets: 10, TxPackets: 10}, {Name: "b", Flags: 1, RxPackets: 15}}, "a", true},
		{"tie by name", []Counters{{Name: "z", Flags: 1, RxPackets: 1}, {Name: "a", Flags: 1, TxPackets: 1}}, "a", true},
		{"unreadable skipped", []Counters{{Name: "a", Flags: 1, RxPackets: 9, readFailed: true}, {Name: "b", Flags: 1}}, "b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := PickBusiest(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("got %q,%v want %q,%v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseSysUint(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"0x1003\n", 0x1003, false},
		{"12345\n", 12345, false},
		{" 7 ", 7, false},
		{"", 0, true},
		{"0xzz", 0, true},
		{"-1", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSysUint(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSysUint(%q) = %d,%v", tt.in, got, err)
		}
	}
}

func TestCountRxQueues(t *testing.T) {
	tests := []struct {
		in   []string
		want int
	}{
		{nil, 1},
		{[]string{"tx-0"}, 1},
		{[]string{"rx-0", "rx-1", "tx-0", "tx-1"}, 2},
		{[]string{"rx-0", "rx-x", "rx-"}, 1},
		{[]string{"rx-0", "rx-1", "rx-2", "rx-10"}, 4},
	}
	for _, tt := range tests {
		if got := CountRxQueues(tt.in); got != tt.want {
			t.Errorf("CountRxQueues(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestPrefixesOf(t *testing.T) {
	in := []net.Addr{
		&net.IPNet{IP: net.ParseIP("10.1.2.3"), Mask: net.CIDRMask(24, 32)},
		&net.IPNet{IP: net.ParseIP("10.9.9.9"), Mask: net.CIDRMask(120, 128)}, // 16-byte v4 form
		&net.IPNet{IP: net.ParseIP("2001:db8::1"), Mask: net.CIDRMask(64, 128)},
		&net.IPAddr{IP: net.ParseIP("1.1.1.1")},
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.1.2.3/24"),
		netip.MustParsePrefix("10.9.9.9/24"),
		netip.MustParsePrefix("2001:db8::1/64"),
	}
	if got := PrefixesOf(in); !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

// TestResolveSystem runs against this machine's real interfaces: loopback
// always exists and holds 127.0.0.1.
func TestResolveSystem(t *testing.T) {
	lo, err := Resolve("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !lo.Loopback || lo.Index == 0 || lo.NumRxQueues < 1 {
		t.Fatalf("got %+v", lo)
	}
	byName, err := Resolve(lo.Name)
	if err != nil || byName.Index != lo.Index {
		t.Fatalf("by name: %+v, %v", byName, err)
	}
}

func FuzzParseSysUint(f *testing.F) {
	for _, s := range []string{"0x1003\n", "12345\n", "", "0x", " 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSysUint(s)
		if err != nil && v != 0 {
			t.Fatalf("value %d with error %v", v, err)
		}
	})
}
