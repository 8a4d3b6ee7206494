package agent

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

// mockHost is the "host" side of the mock generator's traffic.
const mockHost = "192.168.0.1"

// mockInterval paces the mock generator at about 10 packets a second, as
// pktvisor's.
const mockInterval = 100 * time.Millisecond

// mockSource is pktvisor's `pcap_source: mock`: synthetic DNS over UDP
// between 192.168.0.1 (port 53) and 10.0.0.x, a query for
// <0..19>.pktvisor-mock.dev of a random type, and when the packet goes from
// the host a response with rcode 0..5. It needs no privileges, which makes
// it the live source of the agent's tests.
type mockSource struct {
	now    func() time.Time
	rng    *rand.Rand
	next   time.Time
	buf    [512]byte
	recv   atomic.Uint64
	bytes  atomic.Uint64
	closed atomic.Bool
	// done, when set before the first Next, cuts the pacing sleep short
	// so a stopped input ends at once.
	done <-chan struct{}
}

var _ capture.Source = (*mockSource)(nil)

func newMockSource(now func() time.Time) *mockSource {
	if now == nil {
		now = time.Now
	}
	return &mockSource{now: now, rng: rand.New(rand.NewPCG(1, 2))}
}

var mockTypes = [...]uint16{dns.TypeA, dns.TypeAAAA, dns.TypePTR, dns.TypeMX, dns.TypeTXT}

func (m *mockSource) Next(f *capture.Frame) error {
	if m.closed.Load() {
		return io.EOF
	}
	now := m.now()
	if wait := m.next.Sub(now); wait > 0 {
		t := time.NewTimer(min(wait, mockInterval))
		select {
		case <-t.C:
		case <-m.done:
			t.Stop()
		}
		return fmt.Errorf("mock: %w", capture.ErrTimeout)
	}
	m.next = now.Add(mockInterval)
	n, err := m.frame(m.buf[:])
	if err != nil {
		return fmt.Errorf("mock: %w", err)
	}
	*f = capture.Frame{Data: m.buf[:n], Timestamp: now, CapLen: n, OrigLen: n, LinkType: decode.LinkEthernet}
	m.recv.Add(1)
	m.bytes.Add(uint64(n))
	return nil
}

// frame writes one Ethernet/IPv4/UDP/DNS frame into b.
func (m *mockSource) frame(b []byte) (int, error) {
	fromHost := m.rng.IntN(2) == 0
	msg := new(dns.Msg)
	msg.SetQuestion(fmt.Sprintf("%d.pktvisor-mock.dev.", m.rng.IntN(20)), mockTypes[m.rng.IntN(len(mockTypes))])
	msg.Id = uint16(m.rng.Uint32())
	if fromHost {
		msg.Response = true
		msg.Rcode = m.rng.IntN(6)
	}
	payload, err := msg.PackBuffer(b[42:42])
	if err != nil {
		return 0, err
	}
	host := [4]byte{192, 168, 0, 1}
	peer := [4]byte{10, 0, 0, byte(1 + m.rng.IntN(254))}
	peerPort := uint16(1024 + m.rng.IntN(60000))
	src, dst, sport, dport := peer, host, peerPort, uint16(53)
	if fromHost {
		src, dst, sport, dport = host, peer, 53, peerPort
	}
	// Ethernet
	copy(b[0:6], []byte{0x02, 0, 0, 0, 0, 0x02})
	copy(b[6:12], []byte{0x02, 0, 0, 0, 0, 0x01})
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	// IPv4
	ip := b[14:34]
	udpLen := 8 + len(payload)
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(20+udpLen))
	binary.BigEndian.PutUint16(ip[4:], 0)
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	ip[8], ip[9] = 64, 17
	binary.BigEndian.PutUint16(ip[10:], 0)
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	// UDP (checksum 0: optional over IPv4)
	u := b[34:42]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen))
	binary.BigEndian.PutUint16(u[6:], 0)
	return 42 + len(payload), nil
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

func (m *mockSource) Stats() capture.Stats {
	return capture.Stats{Path: sourceMock, Received: m.recv.Load(), Bytes: m.bytes.Load()}
}

func (m *mockSource) Close() error { m.closed.Store(true); return nil }
