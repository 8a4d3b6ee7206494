package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// FuzzParse checks Parse never panics, keeps its output within bounds, and
// agrees with miekg/dns on id, qname and qtype whenever both accept a
// message. Seeds are the fixture messages plus hand-made hostile ones.
func FuzzParse(f *testing.F) {
	f.Add(queryMsg(f))
	f.Add(ecsQueryMsg(f))
	f.Add(responseMsg(f))
	f.Add(cat(header(1, 0, 0, 0), []byte{0xC0, 14, 0xC0, 12}, typeA))
	f.Add(cat(header(1, 0, 0, 0), label(63, 0xFF), []byte{0}, typeA))
	if _, err := findFixtures(); err == nil {
		for i, fm := range fixtureMessages(f) {
			if i%10 == 0 {
				f.Add(fm.data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var m Message
		err := Parse(msg, &m)
		if len(m.QNameBytes()) > MaxNamePresentationLen {
			t.Fatal("qname beyond buffer")
		}
		if m.Answers > int(m.ANCount) {
			t.Fatalf("%d answers, header says %d", m.Answers, m.ANCount)
		}
		if err != nil {
			return
		}
		var mm mdns.Msg
		if mm.Unpack(msg) != nil {
			return
		}
		if m.ID != mm.Id {
			t.Fatalf("id %d vs %d", m.ID, mm.Id)
		}
		if (len(mm.Question) > 0) != m.HasQuestion {
			t.Fatalf("question presence %v vs %d", m.HasQuestion, len(mm.Question))
		}
		if m.HasQuestion {
			q := mm.Question[0]
			if got, want := m.QNameString(), presentation(q.Name); got != want {
				t.Fatalf("qname %q vs %q", got, want)
			}
			if m.QType != q.Qtype {
				t.Fatalf("qtype %d vs %d", m.QType, q.Qtype)
			}
		}
	})
}
