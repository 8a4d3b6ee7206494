package pcaphandler

import (
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/handler"
)

func at(s int) time.Time { return time.Unix(1_700_000_000+int64(s), 0) }

func counters(t *testing.T, h handler.Handler, p int) map[string]any {
	t.Helper()
	sec, err := handler.SectionJSON(h, p, false)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func TestDropsPerBucket(t *testing.T) {
	hi, err := New("pcap", handler.Config{"num_periods": uint64(3), "recorded_stream": true}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	h := hi.(*Handler)
	h.StartAt(at(0))
	// Cumulative OS drops: 10 already before the first sample of bucket 0
	// (the baseline), 25 at its end; bucket 1 continues from 25.
	h.CaptureStats(capture.Stats{OSDrops: 10, IfDrops: 1}, at(1))
	h.CaptureStats(capture.Stats{OSDrops: 25, IfDrops: 1}, at(30))
	h.TCPReassemblyError(at(31))
	h.CaptureStats(capture.Stats{OSDrops: 40, IfDrops: 4}, at(61)) // rotates
	h.TCPReassemblyError(at(62))
	h.TCPReassemblyError(at(63))
	h.EndAt(at(70))

	closed := counters(t, h, 1)
	if closed["os_drops"] != uint64(15) || closed["if_drops"] != uint64(0) || closed["tcp_reassembly_errors"] != uint64(1) {
		t.Errorf("bucket 1 = %v", closed)
	}
	live := counters(t, h, 0)
	if live["os_drops"] != uint64(15) || live["if_drops"] != uint64(3) || live["tcp_reassembly_errors"] != uint64(2) {
		t.Errorf("bucket 0 = %v", live)
	}
	w, err := handler.SectionJSON(h, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if w["os_drops"] != uint64(30) || w["tcp_reassembly_errors"] != uint64(3) {
		t.Errorf("window = %v", w)
	}
}

func TestRejectsUnknownKeys(t *testing.T) {
	if _, err := New("pcap", handler.Config{"only_qname": "x"}, handler.Env{}); err == nil {
		t.Fatal("unknown key accepted")
	}
}
