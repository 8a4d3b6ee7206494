package flow_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/visorng/visor/agent/input/flowinput"
	"github.com/visorng/visor/decode/flow"
)

// totals sums what the input dispatches.
type totals struct {
	mu                      sync.Mutex
	records, packets, bytes uint64
	devices                 map[netip.Addr]bool
}

func (s *totals) HandleFlows(dev netip.Addr, _ time.Time, recs []flow.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.devices == nil {
		s.devices = map[netip.Addr]bool{}
	}
	s.devices[dev] = true
	for _, r := range recs {
		s.records++
		s.packets += r.Packets
		s.bytes += r.Bytes
	}
}

func (s *totals) get() (uint64, uint64, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records, s.packets, s.bytes
}

// listen starts a flow input on the namespace's loopback.
func listen(t *testing.T, ns string, typ flowinput.Type) (*flowinput.Input, *totals, netip.AddrPort) {
	t.Helper()
	in := flowinput.New(typ, nil)
	var tot totals
	in.Attach(&tot)
	var l *flowinput.Listener
	err := inNetns(t, ns, func() error {
		var err error
		l, err = in.Listen(flowinput.ListenConfig{Bind: "127.0.0.1", Sockets: 2})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return in, &tot, l.Addr()
}

var (
	reProto   = regexp.MustCompile(`(?m)^\s+\w+ \(\d+\):\s+(\d+)\s+(\d+)`)
	reFlushed = regexp.MustCompile(`flushed =\s+(\d+)`)
)

// TestSoftflowd replays a capture through softflowd exporting NetFlow v5,
// v9 and IPFIX to our listener; our record, packet and byte totals must
// equal softflowd's own account (its shutdown statistics) and the capture.
func TestSoftflowd(t *testing.T) {
	requireTools(t, "softflowd", "softflowctl")
	dir := t.TempDir()
	pcap := filepath.Join(dir, "traffic.pcap")
	want := writeCapture(t, pcap, 40)
	for _, v := range []string{"5", "9", "10"} {
		t.Run("v"+v, func(t *testing.T) {
			ns := newNetns(t)
			in, tot, addr := listen(t, ns, flowinput.TypeNetFlow)
			ctl := filepath.Join(dir, "ctl"+v)
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "softflowd", "-d", "-r", pcap,
				"-n", addr.String(), "-v", v, "-c", ctl)
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			for i := 0; ; i++ {
				if _, err := os.Stat(ctl); err == nil {
					break
				}
				if i == 100 {
					t.Fatalf("softflowd control socket never appeared:\n%s", out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			// A control request wakes softflowd to read the file; shutdown
			// then expires and exports every flow.
			for _, req := range []string{"statistics", "shutdown"} {
				if o, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "softflowctl", "-c", ctl, req).CombinedOutput(); err != nil {
					t.Fatalf("softflowctl %s: %v\n%s", req, err, o)
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("softflowd: %v\n%s", err, out.String())
			}
			log := out.String()
			var sfPackets, sfBytes uint64
			for _, m := range reProto.FindAllStringSubmatch(log, -1) {
				o, _ := strconv.ParseUint(m[1], 10, 64)
				p, _ := strconv.ParseUint(m[2], 10, 64)
				sfBytes += o
				sfPackets += p
			}
			m := reFlushed.FindStringSubmatch(log)
			if m == nil {
				t.Fatalf("no flushed count in softflowd's output:\n%s", log)
			}
			sfFlows, _ := strconv.ParseUint(m[1], 10, 64)
			if sfFlows != uint64(want.flows) || sfPackets != want.packets || sfBytes != want.bytes {
				t.Fatalf("softflowd saw flows %d packets %d bytes %d; capture has %+v\n%s", sfFlows, sfPackets, sfBytes, want, log)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				r, p, b := tot.get()
				if r == sfFlows && p == sfPackets && b == sfBytes {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("decoded records %d packets %d bytes %d; softflowd exported %d/%d/%d; input %+v",
						r, p, b, sfFlows, sfPackets, sfBytes, in.Stats())
				}
				time.Sleep(20 * time.Millisecond)
			}
			st := in.Stats()
			if st.DecodeErrors != 0 || st.UnknownSets != 0 {
				t.Fatalf("input stats %+v", st)
			}
			t.Logf("v%s: %d datagrams, %d records, %d packets, %d bytes; templates %+v", v, st.Datagrams, st.Records, sfPackets, sfBytes, st.Templates)
		})
	}
}
