package dhcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// v4msg builds a DHCPv4 message with the given options (already encoded).
func v4msg(op uint8, xid uint32, yiaddr [4]byte, mac [6]byte, opts ...byte) []byte {
	b := make([]byte, v4HeaderLen, v4HeaderLen+4+len(opts))
	b[0], b[1], b[2] = op, 1, 6
	binary.BigEndian.PutUint32(b[4:], xid)
	copy(b[16:], yiaddr[:])
	copy(b[28:], mac[:])
	b = binary.BigEndian.AppendUint32(b, v4Cookie)
	return append(b, opts...)
}

var mac = [6]byte{0x78, 0x4f, 0x43, 0x78, 0x19, 0xbc}

func TestParseV4(t *testing.T) {
	tests := []struct {
		name    string
		msg     []byte
		err     error
		typ     uint8
		host    string
		hasHost bool
		sid     [4]byte
		hasSID  bool
	}{
		{"request with hostname", v4msg(1, 7, [4]byte{}, mac, 53, 1, 3, 0, 0, 12, 4, 'h', 'o', 's', 't', 255),
			nil, Request, "host", true, [4]byte{}, false},
		{"offer with server id", v4msg(2, 7, [4]byte{192, 168, 2, 205}, mac, 53, 1, 2, 54, 4, 192, 168, 2, 1, 255),
			nil, Offer, "", false, [4]byte{192, 168, 2, 1}, true},
		{"hostname trailing NULs trimmed", v4msg(1, 7, [4]byte{}, mac, 12, 3, 'a', 0, 0, 53, 1, 1),
			nil, Discover, "a", true, [4]byte{}, false},
		{"first msgtype wins", v4msg(1, 7, [4]byte{}, mac, 53, 1, 1, 53, 1, 5, 255), nil, Discover, "", false, [4]byte{}, false},
		{"no end option", v4msg(1, 7, [4]byte{}, mac, 53, 1, 5), nil, Ack, "", false, [4]byte{}, false},
		{"option cut short", v4msg(1, 7, [4]byte{}, mac, 53, 1, 5, 12, 9, 'x'), ErrTruncated, Ack, "", false, [4]byte{}, false},
		{"option length byte missing", v4msg(1, 7, [4]byte{}, mac, 53, 1, 5, 12), ErrTruncated, Ack, "", false, [4]byte{}, false},
		{"empty msgtype ignored", v4msg(1, 7, [4]byte{}, mac, 53, 0, 255), nil, 0, "", false, [4]byte{}, false},
		{"short server id ignored", v4msg(2, 7, [4]byte{}, mac, 54, 2, 1, 2, 255), nil, 0, "", false, [4]byte{}, false},
		{"bootp without cookie", v4msg(1, 7, [4]byte{}, mac)[:v4HeaderLen], nil, 0, "", false, [4]byte{}, false},
		{"short header", make([]byte, 100), ErrTruncated, 0, "", false, [4]byte{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m V4
			err := ParseV4(tc.msg, &m)
			if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if m.MsgType != tc.typ || string(m.Hostname) != tc.host || m.HasHostname != tc.hasHost ||
				m.ServerID != tc.sid || m.HasServerID != tc.hasSID {
				t.Fatalf("got %+v", m)
			}
			if len(tc.msg) >= v4HeaderLen && (m.XID != 7 || m.CHAddr != mac) {
				t.Fatalf("header: xid %d chaddr %x", m.XID, m.CHAddr)
			}
		})
	}
}

func TestParseV4ManyPads(t *testing.T) {
	// A message of nothing but pads stops at MaxOptions, not at its end.
	msg := v4msg(1, 1, [4]byte{}, mac, make([]byte, 4*MaxOptions)...)
	msg = append(msg, 53, 1, 1)
	var m V4
	if err := ParseV4(msg, &m); err != nil || m.MsgType != 0 {
		t.Fatalf("err %v type %d: walk was not bounded", err, m.MsgType)
	}
}

func v6msg(typ uint8, xid uint32, opts ...byte) []byte {
	return append([]byte{typ, byte(xid >> 16), byte(xid >> 8), byte(xid)}, opts...)
}

func TestParseV6(t *testing.T) {
	duid := []byte{0, 1, 0, 1, 0x1c, 0x38, 0x25, 0xe8, 8, 0, 0x27, 0xd4, 0x10, 0xbb}
	withSID := append([]byte{0, 1, 0, 2, 0xaa, 0xbb, 0, 2, 0, byte(len(duid))}, duid...)
	tests := []struct {
		name string
		msg  []byte
		err  error
		typ  uint8
		xid  uint32
		sid  []byte
	}{
		{"advertise with server id", v6msg(Advertise, 0x100874, withSID...), nil, Advertise, 0x100874, duid},
		{"solicit without", v6msg(Solicit, 1, 0, 8, 0, 2, 0, 0), nil, Solicit, 1, nil},
		{"option cut short", v6msg(Reply, 2, 0, 2, 0, 9, 1), ErrTruncated, Reply, 2, nil},
		{"option header cut short", v6msg(Reply, 2, 0, 2), ErrTruncated, Reply, 2, nil},
		{"header only", v6msg(Reply, 3), nil, Reply, 3, nil},
		{"short header", []byte{Reply, 0}, ErrTruncated, Reply, 0, nil},
		{"empty", nil, ErrTruncated, 0, 0, nil},
		{"relay", append([]byte{RelayForw}, make([]byte, 40)...), nil, RelayForw, 0, nil},
		{"short relay", []byte{RelayRepl, 0, 0}, ErrTruncated, RelayRepl, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m V6
			err := ParseV6(tc.msg, &m)
			if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if m.MsgType != tc.typ || m.XID != tc.xid || !bytes.Equal(m.ServerID, tc.sid) || m.HasServerID != (tc.sid != nil) {
				t.Fatalf("got %+v", m)
			}
		})
	}
}

func TestPorts(t *testing.T) {
	if !IsV4Port(68, 67) || !IsV4Port(1000, 68) || IsV4Port(546, 547) {
		t.Fatal("IsV4Port")
	}
	if !IsV6Port(546, 547) || !IsV6Port(547, 9) || IsV6Port(67, 68) {
		t.Fatal("IsV6Port")
	}
}

func TestAllocs(t *testing.T) {
	v4 := v4msg(1, 7, [4]byte{}, mac, 53, 1, 3, 12, 4, 'h', 'o', 's', 't', 54, 4, 1, 2, 3, 4, 255)
	v6 := v6msg(Reply, 9, 0, 2, 0, 4, 1, 2, 3, 4)
	var m4 V4
	var m6 V6
	if n := testing.AllocsPerRun(100, func() { _ = ParseV4(v4, &m4); _ = ParseV6(v6, &m6) }); n != 0 {
		t.Fatalf("%v allocations per parse", n)
	}
}

func BenchmarkParseV4(b *testing.B) {
	msg := v4msg(1, 7, [4]byte{}, mac, 53, 1, 3, 61, 7, 1, 1, 2, 3, 4, 5, 6, 50, 4, 10, 0, 0, 2,
		12, 12, 'S', 'h', 'a', 'n', 'n', 'o', 'n', 's', '-', 'M', 'B', 'P', 55, 4, 1, 3, 6, 15, 255)
	var m V4
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		_ = ParseV4(msg, &m)
	}
}

func BenchmarkParseV6(b *testing.B) {
	msg := v6msg(Reply, 9, 0, 1, 0, 4, 1, 2, 3, 4, 0, 2, 0, 4, 1, 2, 3, 4, 0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)
	var m V6
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseV6(msg, &m)
	}
}

// FuzzParse checks the invariants every input must keep: no panic, byte
// fields alias the input and stay within it, and a parse is repeatable.
func FuzzParse(f *testing.F) {
	f.Add(v4msg(1, 7, [4]byte{}, mac, 53, 1, 3, 12, 4, 'h', 'o', 's', 't', 255))
	f.Add(v4msg(2, 7, [4]byte{1, 2, 3, 4}, mac, 53, 1, 2, 54, 4, 1, 2, 3, 4))
	f.Add(v6msg(Advertise, 5, 0, 2, 0, 2, 1, 2))
	f.Add([]byte{RelayForw})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m, m2 V4
		err := ParseV4(b, &m)
		err2 := ParseV4(b, &m2)
		if err != err2 || m.MsgType != m2.MsgType || !bytes.Equal(m.Hostname, m2.Hostname) {
			t.Fatal("ParseV4 not repeatable")
		}
		if len(m.Hostname) > 255 || (m.Hostname != nil && !bytes.Contains(b, m.Hostname)) {
			t.Fatalf("hostname %q not from the input", m.Hostname)
		}
		if err == nil && len(b) < v4HeaderLen {
			t.Fatal("short message accepted")
		}
		var v6 V6
		_ = ParseV6(b, &v6)
		if v6.ServerID != nil && (len(v6.ServerID) > len(b) || !bytes.Contains(b, v6.ServerID)) {
			t.Fatal("server id not from the input")
		}
	})
}
