package capgen

import (
	"errors"
	"io"
	"math/rand"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// FloodOptions shape a random-qname flood.
type FloodOptions struct {
	Queries  int           // number of queries (default 100000)
	Seed     int64         // PRNG seed (default 1)
	Span     time.Duration // time covered (default 120 s)
	Answered int           // percent of queries that get an NXDOMAIN answer (0..100)
	Sources  int           // distinct client addresses (default 5000, IPv4 and IPv6 mixed)
}

func (o *FloodOptions) defaults() error {
	if o.Queries == 0 {
		o.Queries = 100000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Span == 0 {
		o.Span = 120 * time.Second
	}
	if o.Sources == 0 {
		o.Sources = 5000
	}
	if o.Queries < 0 || o.Sources < 0 || o.Answered < 0 || o.Answered > 100 || o.Span < 0 {
		return errors.New("flood options out of range")
	}
	return nil
}

// floodSource returns the i-th client: IPv4 from 198.51.100.0/24 and
// 203.0.113.0/24 for the first 508, then IPv6 inside 2001:db8::/32.
func floodSource(i int) netip.Addr {
	if i < 254 {
		return netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i)})
	}
	if i < 508 {
		return netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i - 254)})
	}
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xf1, 0x00, 12: byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
}

const labelChars = "abcdefghijklmnopqrstuvwxyz0123456789-"

// randomQname draws 1..4 random labels of 1..63 characters under a
// victim zone, the shape of a water-torture attack; the total stays within
// the 255-byte wire limit.
func randomQname(r *rand.Rand) string {
	var b strings.Builder
	n := 1 + r.Intn(4)
	for range n {
		l := 1 + r.Intn(63)
		if b.Len()+l+1 > 200 {
			break
		}
		for range l {
			b.WriteByte(labelChars[r.Intn(len(labelChars)-1)])
		}
		b.WriteByte('.')
	}
	b.WriteString("victim.example.")
	return b.String()
}

// FloodStats describes what Flood wrote, so tests know the truth without
// decoding the capture again.
type FloodStats struct {
	Frames    int // records written (queries + responses)
	Responses int
	Clients4  int // distinct IPv4 client addresses
	Clients6  int // distinct IPv6 client addresses
}

// Flood writes a DNS random-subdomain flood toward the sample host on port
// 53. Queries are spread evenly over the span.
func Flood(w io.Writer, o FloodOptions) (FloodStats, error) {
	var st FloodStats
	if err := o.defaults(); err != nil {
		return st, err
	}
	r := rand.New(rand.NewSource(o.Seed))
	var c capture
	seen := map[netip.Addr]bool{}
	step := o.Span / time.Duration(max(o.Queries, 1))
	for i := range o.Queries {
		src := endpoint{floodSource(r.Intn(o.Sources)), uint16(1024 + r.Intn(64000))}
		dst := endpoint{Host4, 53}
		if src.addr.Is6() {
			dst.addr = Host6
		}
		if !seen[src.addr] {
			seen[src.addr] = true
			if src.addr.Is4() {
				st.Clients4++
			} else {
				st.Clients6++
			}
		}
		q := new(dns.Msg)
		q.SetQuestion(randomQname(r), qtypes[r.Intn(len(qtypes))])
		q.Id = uint16(r.Intn(1 << 16))
		t := time.Duration(i) * step
		c.add(t, udpFrame(encPlain, false, src, dst, uint16(i), mustPack(q)))
		if r.Intn(100) < o.Answered {
			resp := new(dns.Msg)
			resp.SetRcode(q, dns.RcodeNameError)
			resp.Ns = []dns.RR{soa("victim.example.")}
			c.add(t+step/2, udpFrame(encPlain, true, dst, src, uint16(i), mustPack(resp)))
			st.Responses++
		}
	}
	st.Frames = len(c.frames)
	return st, c.write(w, SampleBase)
}
