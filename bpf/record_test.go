package bpf

import (
	"errors"
	"testing"
)

func TestParseRecordAllocs(t *testing.T) {
	rec := make([]byte, RecordHeaderLen+64)
	rec[16] = 64 // cap_len
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := ParseRecord(rec); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per record", n)
	}
}

func BenchmarkParseRecord(b *testing.B) {
	rec := make([]byte, RecordHeaderLen+64)
	rec[16] = 64
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseRecord(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseRecord: never panics, and a returned frame lies within the record
// and has exactly CapLen bytes.
func FuzzParseRecord(f *testing.F) {
	f.Add(make([]byte, RecordHeaderLen))
	f.Add(append(make([]byte, 16), 4, 0, 0, 0, 0, 0, 1, 1, 9, 9, 9, 9))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, rec []byte) {
		h, frame, err := ParseRecord(rec)
		if err != nil {
			if !errors.Is(err, ErrShortRecord) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(frame) != int(h.CapLen) || RecordHeaderLen+len(frame) > len(rec) {
			t.Fatalf("frame %d bytes, cap_len %d, record %d", len(frame), h.CapLen, len(rec))
		}
	})
}
