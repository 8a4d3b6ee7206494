package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// The Parse and MiekgUnpack benchmarks run on the same messages in the same
// run so their ratio is meaningful; compare with benchstat or by eye.

func benchInputs(b *testing.B) map[string][]byte {
	in := map[string][]byte{
		"query":     queryMsg(b),
		"ecs_query": ecsQueryMsg(b),
		"response":  responseMsg(b),
	}
	if _, err := findFixtures(); err == nil {
		// A large real response (the biggest DNSSEC one) as a stress case.
		var big []byte
		for _, fm := range fixtureMessages(b) {
			if len(fm.data) > len(big) {
				big = fm.data
			}
		}
		in["largest_fixture"] = big
	}
	return in
}

func BenchmarkParse(b *testing.B) {
	for name, msg := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			var m Message
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := Parse(msg, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMiekgUnpack(b *testing.B) {
	for name, msg := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			var m mdns.Msg
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := m.Unpack(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseFixtures parses every fixture message once per iteration.
func BenchmarkParseFixtures(b *testing.B) {
	msgs := fixtureMessages(b)
	b.Run("Parse", func(b *testing.B) {
		var m Message
		b.ReportAllocs()
		for b.Loop() {
			for _, fm := range msgs {
				_ = Parse(fm.data, &m)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
	})
	b.Run("MiekgUnpack", func(b *testing.B) {
		var m mdns.Msg
		b.ReportAllocs()
		for b.Loop() {
			for _, fm := range msgs {
				_ = m.Unpack(fm.data)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
	})
}

func BenchmarkSuffixLen(b *testing.B) {
	s := loadSnippet(b)
	name := []byte("www.google.co.uk")
	b.ReportAllocs()
	for b.Loop() {
		s.SuffixLen(name)
	}
}
