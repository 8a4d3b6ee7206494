package decode

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

type fixtureFrame struct {
	file string
	n    int
	link LinkType
	data []byte
}

// fixtureFrames reads every frame of every pcap in the shared fixtures.
func fixtureFrames(t testing.TB) []fixtureFrame {
	t.Helper()
	dir := fixturesDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no pcap files in %s", dir)
	}
	var frames []fixtureFrame
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			f.Close()
			t.Fatalf("%s: %v", path, err)
		}
		for n := 1; ; n++ {
			data, _, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s frame %d: %v", path, n, err)
			}
			frames = append(frames, fixtureFrame{filepath.Base(path), n, LinkType(r.LinkType()), data})
		}
		f.Close()
	}
	return frames
}

// TestFixturesAgreeWithGopacket decodes every frame of every capture and
// requires gopacket to see the same VLANs, addresses, protocols, ports and
// payloads.
func TestFixturesAgreeWithGopacket(t *testing.T) {
	frames := fixtureFrames(t)
	counts := map[string]int{}
	for _, fr := range frames {
		var p Packet
		err := Decode(fr.link, fr.data, &p)
		if err != nil {
			t.Errorf("%s frame %d: %v", fr.file, fr.n, err)
			continue
		}
		if err := checkInvariants(fr.link, fr.data, &p, err); err != nil {
			t.Errorf("%s frame %d: %v", fr.file, fr.n, err)
		}
		if err := crossCheck(fr.link, fr.data, &p); err != nil {
			t.Errorf("%s frame %d: gopacket disagrees: %v", fr.file, fr.n, err)
		}
		key := p.L3.String() + "/" + p.L4.String()
		if p.Fragment {
			key += "/fragment"
		}
		counts[key]++
	}
	t.Logf("%d frames agree: %v", len(frames), counts)
	if counts["ipv4/udp"] == 0 || counts["ipv6/tcp"] == 0 || counts["ipv6/icmp"] == 0 {
		t.Errorf("fixtures lack expected traffic kinds: %v", counts)
	}
}
