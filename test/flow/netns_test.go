// Package flow_test runs real flow exporters (softflowd, pmacctd) inside a
// network namespace the test creates, pointed at our flow input listening
// on that namespace's loopback, and checks that what we decode matches what
// the exporter says it sent.
package flow_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

var nsSeq atomic.Int32

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

// newNetns creates a namespace with loopback up, removed in t.Cleanup.
func newNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("visorflow-%d-%d", os.Getpid(), nsSeq.Add(1))
	// A run killed before its cleanups leaves its namespace behind, and a
	// later run may reuse the pid: replace a stale one.
	exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v\n%s", err, out)
	}
	return name
}

// inNetns runs fn on a thread switched into the namespace; sockets created
// there stay in it after the thread switches back.
func inNetns(t *testing.T, name string, fn func() error) error {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return err
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join("/var/run/netns", name))
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			panic("cannot return to the original network namespace: " + err.Error())
		}
	}()
	return fn()
}

// traffic is what the test capture holds: flows of UDP and TCP packets with
// known IP-layer sizes.
type traffic struct {
	flows   int
	packets uint64
	bytes   uint64 // IP total lengths, what NetFlow octet counters count
}

// writeCapture writes an Ethernet pcap of nFlows flows; flow f has f+1
// packets whose IP length grows with f. Even flows are UDP, odd ones TCP.
func writeCapture(t *testing.T, path string, nFlows int) traffic {
	t.Helper()
	var tr traffic
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 1)
	ts := uint32(1700000000)
	i := 0
	for f := 0; f < nFlows; f++ {
		proto := byte(17)
		l4 := 8
		if f%2 == 1 {
			proto, l4 = 6, 20
		}
		payload := 50 + 10*f
		for k := 0; k <= f; k++ {
			ipLen := 20 + l4 + payload
			frame := make([]byte, 14+ipLen)
			copy(frame, []byte{2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 8, 0})
			ip := frame[14:]
			ip[0], ip[8], ip[9] = 0x45, 64, proto
			binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
			copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, byte(f >> 8), byte(f)})
			l := ip[20:]
			binary.BigEndian.PutUint16(l, uint16(20000+f))
			binary.BigEndian.PutUint16(l[2:], 80)
			if proto == 17 {
				binary.BigEndian.PutUint16(l[4:], uint16(8+payload))
			} else {
				l[12], l[13] = 5<<4, 0x18 // data offset 5, PSH|ACK
			}
			b = binary.LittleEndian.AppendUint32(b, ts+uint32(i/1000))
			b = binary.LittleEndian.AppendUint32(b, uint32(i%1000)*1000)
			b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
			b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
			b = append(b, frame...)
			tr.packets++
			tr.bytes += uint64(ipLen)
			i++
		}
		tr.flows++
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return tr
}
