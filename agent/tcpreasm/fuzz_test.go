package tcpreasm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/visorng/visor/decode"
)

// Stream contents are a function of (connection, side, stream offset), so
// the checker can verify every delivered byte sits where it belongs.
func streamByte(port uint16, side Side, off uint32) byte {
	return byte(off*131 + uint32(side)*7 + uint32(port))
}

const (
	fuzzISNClient = 0xFFFFFF00 // streams cross the 2^32 wrap
	fuzzISNServer = 0x7FFFFFF0 // and the int32 sign boundary
)

type checker struct {
	t         *testing.T
	pos       map[string]uint32 // next stream offset per conn/side
	unknown   map[string]bool   // streams whose start we cannot know
	delivered [2]uint64
}

func (k *checker) key(c *Conn, side Side) string {
	return fmt.Sprintf("%d/%d", c.Client.Port(), side)
}

func (k *checker) Data(c *Conn, side Side, data []byte, _ time.Time) {
	k.delivered[side] += uint64(len(data))
	key := k.key(c, side)
	if !c.Handshake || k.unknown[key] {
		return
	}
	pos := k.pos[key]
	for i, b := range data {
		if want := streamByte(c.Client.Port(), side, pos+uint32(i)); b != want {
			k.t.Fatalf("%s offset %d: byte %d, want %d", key, pos+uint32(i), b, want)
		}
	}
	k.pos[key] = pos + uint32(len(data))
}

func (k *checker) Gap(c *Conn, side Side, n uint32, _ time.Time) {
	key := k.key(c, side)
	k.pos[key] += n
}

func (k *checker) Closed(c *Conn, _ CloseReason, _ time.Time) {
	// A later connection on the same port starts mid-stream.
	for side := SideClient; side <= SideServer; side++ {
		k.unknown[k.key(c, side)] = true
	}
}

// FuzzReassembler drives a Reassembler with arbitrary segment sequences over
// a few connections: no panic, every delivered byte is the right byte,
// nothing is delivered twice (bytes delivered never exceed bytes sent), and
// memory stays within the configured limits.
func FuzzReassembler(f *testing.F) {
	f.Add([]byte{0, 0, 0, 10, 0, 0, 0, 10, 10, 0})
	f.Add([]byte{0, 0, 20, 10, 1, 0, 0, 0, 20, 1, 1, 0, 5, 30, 1})
	f.Add([]byte{2, 0, 0, 200, 0, 3, 0, 100, 50, 0, 4, 0, 0, 0, 0})
	f.Add([]byte{0, 15, 0, 255, 0, 0, 0, 0, 255, 1, 0, 30, 0, 255, 2, 0, 0, 0, 255, 3})
	f.Fuzz(runOps)
}

func runOps(t *testing.T, ops []byte) {
	{
		cfg := Config{MaxConns: 3, MaxBufferedBytesPerConn: 1024, MaxBufferedBytes: 6 << 10, IdleTimeout: time.Second}
		k := &checker{t: t, pos: map[string]uint32{}, unknown: map[string]bool{}}
		r, err := New(cfg, k)
		if err != nil {
			t.Fatal(err)
		}
		var sent [2]uint64
		opened := map[uint16]bool{}
		ts := t0
		var p decode.Packet
		for len(ops) >= 5 {
			op := ops[:5]
			ops = ops[5:]
			port := 40000 + uint16(op[4]%4)
			side := Side(op[0] & 1)
			off := (uint32(op[1])<<8 | uint32(op[2])) % 4096
			n := uint32(op[3])
			ts = ts.Add(time.Duration(op[0]>>5) * 100 * time.Millisecond)
			if !opened[port] {
				opened[port] = true
				r.Add(fuzzPacket(&p, port, SideClient, decode.TCPSyn, fuzzISNClient, nil, ts))
				r.Add(fuzzPacket(&p, port, SideServer, decode.TCPSyn|decode.TCPAck, fuzzISNServer, nil, ts))
			}
			payload := make([]byte, n)
			for i := range payload {
				payload[i] = streamByte(port, side, off+uint32(i))
			}
			isn := uint32(fuzzISNClient)
			if side == SideServer {
				isn = fuzzISNServer
			}
			flags := uint8(decode.TCPAck)
			switch op[0] >> 1 & 0xF {
			case 1:
				flags |= decode.TCPFin
			case 2:
				flags = decode.TCPRst
			}
			sent[side] += uint64(n)
			r.Add(fuzzPacket(&p, port, side, flags, isn+1+off, payload, ts))

			s := r.Stats()
			if s.TrackedConns > cfg.MaxConns {
				t.Fatalf("%d conns tracked", s.TrackedConns)
			}
			if s.BufferedBytesNow > cfg.MaxBufferedBytes {
				t.Fatalf("%d bytes buffered", s.BufferedBytesNow)
			}
			for _, c := range r.conns {
				if c.buffered > cfg.MaxBufferedBytesPerConn {
					t.Fatalf("conn holds %d bytes", c.buffered)
				}
			}
			for side := range sent {
				if k.delivered[side] > sent[side] {
					t.Fatalf("delivered %d > sent %d", k.delivered[side], sent[side])
				}
			}
		}
		r.Flush(ts)
		if s := r.Stats(); s.BufferedBytesNow != 0 || s.TrackedConns != 0 || s.OpenConns != 0 {
			t.Fatalf("after flush: %+v", s)
		}
	}
}

// TestRandomOps runs long random op sequences through the fuzz body, so the
// invariants are exercised on every plain `go test`.
func TestRandomOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		ops := make([]byte, 5*(1+rng.IntN(400)))
		for j := range ops {
			ops[j] = byte(rng.IntN(256))
		}
		start := time.Now()
		runOps(t, ops)
		if d := time.Since(start); d > time.Second {
			t.Logf("slow input %d: %v (%d ops)", i, d, len(ops)/5)
		}
	}
}

func fuzzPacket(p *decode.Packet, port uint16, side Side, flags uint8, seq uint32, payload []byte, ts time.Time) *decode.Packet {
	*p = decode.Packet{
		Timestamp: ts, L3: decode.L3IPv4, L4: decode.L4TCP, TCPFlags: flags, TCPSeq: seq, Payload: payload,
		Src: cliAddr, Dst: srvAddr, SrcPort: port, DstPort: 53,
	}
	if side == SideServer {
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
	}
	return p
}
