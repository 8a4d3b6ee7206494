package decode

import (
	"math/rand/v2"
	"testing"
)

// fuzzLinks maps the fuzzer's selector byte onto the supported link types
// (plus one unsupported) so it does not waste effort on unknown links.
var fuzzLinks = [...]LinkType{LinkEthernet, LinkLinuxSLL, LinkLinuxSLL2, LinkRaw, LinkIPv4, LinkIPv6, LinkNull, LinkLoop, 105}

func linkIndex(l LinkType) uint8 {
	for i, x := range fuzzLinks {
		if x == l {
			return uint8(i)
		}
	}
	return uint8(len(fuzzLinks) - 1)
}

// FuzzDecode checks the invariants of checkInvariants on arbitrary input:
// no panic, every slice inside the frame and nested, lengths consistent,
// decoding deterministic, errors always LayerErrors.
func FuzzDecode(f *testing.F) {
	// Synthesized seeds, so the fuzzer starts deep even without fixtures.
	f.Add(linkIndex(LinkEthernet), gpDNSFrame(f))
	f.Add(linkIndex(LinkEthernet), gpTCP6Frame(f))
	f.Add(linkIndex(LinkEthernet), gpVLANFrame(f))
	f.Add(linkIndex(LinkIPv6), ipv6(protoHopOpts, cat(ext6(protoFragment, 1), frag6(protoAH, 0, true, 1), ah6(ProtoTCP), tcp(1, 2, 3, 4, TCPSyn, []byte{2, 4, 5, 0xb4}, nil))))
	f.Add(linkIndex(LinkLinuxSLL), cat(sllHdr(EtherTypeIPv4), ipv4(ProtoUDP, ip4opts{options: []byte{1, 1, 1, 0}, more: true}, udp(1, 2, []byte("x")))))
	f.Add(linkIndex(LinkLinuxSLL2), cat(sll2Hdr(EtherTypeIPv6), ipv6(ProtoICMPv6, icmp(128, 0, []byte("ping")))))
	f.Add(linkIndex(LinkNull), cat([]byte{2, 0, 0, 0}, ipv4(ProtoICMP, ip4opts{fragOff: 3}, icmp(0, 0, nil))))
	f.Add(linkIndex(LinkRaw), ipv4(ProtoTCP, ip4opts{}, tcp(1, 2, 3, 4, TCPAck, nil, []byte("data"))))

	// Real frames: a few from every capture, so each shape is represented
	// without turning every `go test` into a long seed run.
	if dir, _ := findFixtures(); dir != "" {
		frames, err := readFixtureFrames(dir)
		if err != nil {
			f.Fatal(err)
		}
		perFile := map[string]int{}
		for _, fr := range frames {
			if perFile[fr.file] < 8 {
				perFile[fr.file]++
				f.Add(linkIndex(fr.link), fr.data)
			}
		}
	}

	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		link := fuzzLinks[int(sel)%len(fuzzLinks)]
		// Spare capacity lets within() tell an empty tail slice from a
		// slice outside the frame.
		frame := append(make([]byte, 0, len(data)+1), data...)
		var p Packet
		err := Decode(link, frame, &p)
		if err := checkInvariants(link, frame, &p, err); err != nil {
			t.Fatal(err)
		}
	})
}

// TestGarbage feeds random bytes of every length to every link type.
func TestGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 0, 256)
	for i := 0; i < 20000; i++ {
		buf = buf[:rng.IntN(cap(buf))]
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		// Make IP-looking version nibbles common so the deep paths run.
		if len(buf) > 0 && i%2 == 0 {
			buf[0] = buf[0]&0x0f | []byte{0x40, 0x60}[i%4/2]
		}
		link := fuzzLinks[i%len(fuzzLinks)]
		var p Packet
		err := Decode(link, buf, &p)
		if err := checkInvariants(link, buf, &p, err); err != nil {
			t.Fatalf("frame %x on link %d: %v", buf, link, err)
		}
	}
}
