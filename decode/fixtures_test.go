package decode

import (
	"errors"
	"fmt"
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

// fixtureFrames reads every frame of every pcap in the shared fixtures, or
// skips when there are none.
func fixtureFrames(t testing.TB) []fixtureFrame {
	t.Helper()
	frames, err := readFixtureFrames(fixturesDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) == 0 {
		t.Skip("no pcap frames in the shared fixtures")
	}
	return frames
}

func readFixtureFrames(dir string) ([]fixtureFrame, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if err != nil {
		return nil, err
	}
	var frames []fixtureFrame
	for _, path := range files {
		frames, err = appendPcapFrames(frames, path)
		if err != nil {
			return nil, err
		}
	}
	return frames, nil
}

func appendPcapFrames(frames []fixtureFrame, path string) ([]fixtureFrame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for n := 1; ; n++ {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return frames, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s frame %d: %w", path, n, err)
		}
		frames = append(frames, fixtureFrame{filepath.Base(path), n, LinkType(r.LinkType()), data})
	}
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
