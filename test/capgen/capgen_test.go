package capgen

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// The committed sample must be exactly what the generator writes, or the
// goldens derived from it describe a different file.
func TestSampleMatchesCommittedFile(t *testing.T) {
	var a, b bytes.Buffer
	if err := Sample(&a); err != nil {
		t.Fatal(err)
	}
	if err := Sample(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("Sample is not deterministic")
	}
	committed, err := os.ReadFile(filepath.Join("..", "testdata", "sample.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), committed) {
		t.Fatal("test/testdata/sample.pcap differs from the generator's output: run " +
			"`go run ./test/gencap -o test/testdata/sample.pcap && test/truth/make-goldens.sh`")
	}
	if n := a.Len(); n > 200<<10 {
		t.Fatalf("sample is %d bytes, want < 200 KiB", n)
	}
}

func TestSampleShape(t *testing.T) {
	var buf bytes.Buffer
	if err := Sample(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var first, last time.Time
	n, truncated := 0, 0
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			first = ci.Timestamp
		}
		if ci.Timestamp.Before(last) {
			t.Fatalf("record %d goes back in time", n)
		}
		last = ci.Timestamp
		if ci.CaptureLength < ci.Length {
			truncated++
		}
		if len(data) != ci.CaptureLength {
			t.Fatalf("record %d: %d bytes, caplen %d", n, len(data), ci.CaptureLength)
		}
		n++
	}
	if span := last.Sub(first); span < 121*time.Second || span > SampleSpan {
		t.Errorf("span %v: want more than two 60 s periods and at most %v", span, SampleSpan)
	}
	if truncated != 1 {
		t.Errorf("%d truncated records, want 1", truncated)
	}
	if n < 800 {
		t.Errorf("only %d records", n)
	}
}

func TestFlood(t *testing.T) {
	var buf bytes.Buffer
	st, err := Flood(&buf, FloodOptions{Queries: 2000, Answered: 50, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != st.Frames || n != 2000+st.Responses || st.Responses < 800 || st.Responses > 1200 {
		t.Fatalf("%d records, stats %+v, for 2000 queries with half answered", n, st)
	}
	if st.Clients4 == 0 || st.Clients6 == 0 {
		t.Errorf("stats %+v: want both families of clients", st)
	}
	if _, err := Flood(io.Discard, FloodOptions{Answered: 101}); err == nil {
		t.Fatal("Answered 101 accepted")
	}
}
