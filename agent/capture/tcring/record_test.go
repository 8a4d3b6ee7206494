package tcring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/decode"
)

func rec(flags uint8, tci uint16, wire uint32, frame []byte) []byte {
	b := make([]byte, bpf.RecordHeaderLen, bpf.RecordHeaderLen+len(frame))
	le := binary.LittleEndian
	le.PutUint64(b[0:], 123456789)
	le.PutUint32(b[8:], 7)
	le.PutUint32(b[12:], wire)
	le.PutUint32(b[16:], uint32(len(frame)))
	le.PutUint16(b[20:], tci)
	b[23] = flags
	return append(b, frame...)
}

func TestParseRecord(t *testing.T) {
	eth := []byte{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x08, 0x00, 0x45, 0}
	tagged := []byte{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00, 0x45, 0}
	tests := []struct {
		name string
		rec  []byte
		want []byte
		dir  decode.Direction
		wire int
	}{
		{"ingress", rec(0, 0, 100, eth), eth, decode.DirIn, 100},
		{"egress", rec(bpf.RecordEgress, 0, 16, eth), eth, decode.DirOut, 16},
		{"vlan put back", rec(bpf.RecordVLAN, 100, 16, eth), tagged, decode.DirIn, 20},
		{"vlan too short to tag", rec(bpf.RecordVLAN, 100, 16, eth[:10]), eth[:10], decode.DirIn, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRecord(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.rec[r.start : r.start+r.capLen]; !bytes.Equal(got, tt.want) {
				t.Fatalf("got % x want % x", got, tt.want)
			}
			if r.dir != tt.dir || r.wireLen != tt.wire || r.monoNs != 123456789 {
				t.Fatalf("%+v", r)
			}
		})
	}
	if _, err := parseRecord(rec(0, 0, 0, eth)[:30]); !errors.Is(err, bpf.ErrShortRecord) {
		t.Fatalf("short record: %v", err)
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add(rec(bpf.RecordVLAN, 5, 60, make([]byte, 60)))
	f.Add(rec(0, 0, 60, make([]byte, 3)))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRecord(b)
		if err != nil {
			return
		}
		if r.start < 0 || r.capLen < 0 || r.start+r.capLen > len(b) {
			t.Fatalf("extent [%d,+%d) outside %d", r.start, r.capLen, len(b))
		}
	})
}

func TestParseRecordAllocs(t *testing.T) {
	b := rec(bpf.RecordVLAN, 5, 60, make([]byte, 60))
	fresh := bytes.Clone(b)
	if n := testing.AllocsPerRun(100, func() {
		copy(b, fresh)
		if _, err := parseRecord(b); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
