package flowhandler

import (
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input/flowinput"
)

// FuzzPipeline feeds arbitrary datagrams through the real decoders into two
// flow handlers with every group on: one aggregating records as it does in
// production, one replaying each record at once. Neither may panic, and
// while no list can have evicted (fewer records than a list holds) their
// outputs must be identical.
func FuzzPipeline(f *testing.F) {
	v5 := binary.BigEndian.AppendUint16(nil, 5)
	v5 = binary.BigEndian.AppendUint16(v5, 2)
	v5 = append(v5, make([]byte, 20)...)
	for i := range 2 {
		r := make([]byte, 48)
		copy(r, []byte{10, 0, 0, byte(i), 192, 0, 2, 1})
		binary.BigEndian.PutUint16(r[12:], 1)
		binary.BigEndian.PutUint16(r[14:], 2)
		binary.BigEndian.PutUint32(r[16:], 3)
		binary.BigEndian.PutUint32(r[20:], 300)
		binary.BigEndian.PutUint16(r[32:], 40000)
		binary.BigEndian.PutUint16(r[34:], 53)
		r[38], r[39] = 17, 0xb8
		v5 = append(v5, r...)
	}
	f.Add(false, v5)
	f.Add(false, append(append([]byte(nil), v5...), v5...))
	f.Add(true, []byte{0, 0, 0, 5, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, sflow bool, data []byte) {
		typ := flowinput.TypeNetFlow
		if sflow {
			typ = flowinput.TypeSFlow
		}
		var hs [2]*Handler
		var records int
		for i := range hs {
			h, err := New("fuzz", handler.Config{"num_periods": uint64(1), "enable": []any{"all"}}, handler.Env{})
			if err != nil {
				t.Fatal(err)
			}
			hs[i] = h.(*Handler)
			if i == 1 {
				hs[i].pendingLimit = 1
			}
			in := flowinput.New(typ, nil)
			in.Attach(hs[i])
			w := in.NewWorker()
			// Twice, so templates the datagram defines apply the second time.
			for range 2 {
				_ = in.Process(w, netip.MustParseAddr("192.0.2.1"), t0, data)
			}
			hs[i].mgr.Lock()
			records = 0
			for _, d := range hs[i].mgr.Live(t0).devices {
				records += int(d.flows)
			}
			hs[i].mgr.Unlock()
		}
		x, y := metricsBytes(t, hs[0]), metricsBytes(t, hs[1])
		if records < flowTopCapacity && x != y {
			t.Fatalf("aggregated and per-record output differ (%d records):\n%s\n%s", records, x, y)
		}
	})
}

// metricsBytes is the live bucket's section without its period, which
// depends on when each handler was made.
func metricsBytes(t *testing.T, h *Handler) string {
	t.Helper()
	s, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	delete(s, "period")
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
