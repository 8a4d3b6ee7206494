//go:build linux

package capturetest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/test/capture/vethnet"
)

// OpenIn opens a source with open(opts) inside ns, so it binds to that
// namespace's interfaces; it is closed at cleanup.
func OpenIn[O any, S io.Closer](t testing.TB, ns *NS, open func(O) (S, error), opts O) S {
	t.Helper()
	var src S
	err := ns.Do(func() error {
		var err error
		src, err = open(opts)
		return err
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// SendAll injects frames in order.
//
// It pauses briefly after every sendBurst frames. A veth hands each frame to
// the receiving CPU's backlog, which holds net.core.netdev_max_backlog
// (1000) frames; on a loaded machine the softirq that empties it can fall
// behind a tight send loop, and the kernel then drops frames before any
// capture path sees them (counted only in /proc/net/softnet_stat). That is
// a property of the test's sender, not of the path under test.
func SendAll(t testing.TB, in *Injector, frames []TestFrame) {
	t.Helper()
	for i, f := range frames {
		if err := in.Send(f.Data); err != nil {
			t.Fatal(err)
		}
		if (i+1)%sendBurst == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// sendBurst is well under the backlog's 1000 frames.
const sendBurst = 200

// NextError calls Next until it returns something other than a frame or a
// timeout, and returns that, or an error of its own once d has passed.
func NextError(src capture.Source, d time.Duration) error {
	var f capture.Frame
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		err := src.Next(&f)
		if err != nil && !errors.Is(err, capture.ErrTimeout) {
			return err
		}
	}
	return errors.New("no error before the deadline")
}

// BenchmarkBursts measures how fast src hands out frames already queued:
// bursts of up to burst frames, cycling through frames, are injected with
// the timer stopped and read back with it running. It reports frames/s and
// leaves the timer stopped.
func BenchmarkBursts(b *testing.B, src capture.Source, in *Injector, frames []TestFrame, burst int) {
	b.Helper()
	var f capture.Frame
	b.ReportAllocs()
	b.ResetTimer()
	var elapsed time.Duration
	for done := 0; done < b.N; {
		chunk := min(b.N-done, burst)
		b.StopTimer()
		for i := range chunk {
			if err := in.Send(frames[i%len(frames)].Data); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		for got := 0; got < chunk; got++ {
			if err := src.Next(&f); err != nil {
				b.Fatalf("after %d of %d: %v; stats %+v", got, chunk, err, src.Stats())
			}
		}
		elapsed += time.Since(start)
		done += chunk
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "frames/s")
}

// helperTest is the test a package's SIGKILL test runs as its child; the
// package defines it as a call to HelperProcess.
const helperTest = "TestHelperProcess"

// HelperProcess is the body of a package's TestHelperProcess. Started by
// StartHelper (env then names the interface) it opens a source with open,
// says "attached" and waits, bounded, to be killed; run as an ordinary
// test it skips.
func HelperProcess[S io.Closer](t *testing.T, env string, open func(iface string) (S, error)) {
	t.Helper()
	iface := os.Getenv(env)
	if iface == "" {
		t.Skip("helper process for TestSIGKILLLeavesNothing")
	}
	src, err := open(iface)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer src.Close()
	fmt.Println("attached")
	time.Sleep(30 * time.Second)
}

// Helper is a child test binary holding a source open on an interface.
type Helper struct {
	cmd *exec.Cmd
}

// StartHelper runs this test binary's TestHelperProcess inside e's
// namespace with env set to e's name, and returns once the child says it
// has attached. The child is killed at cleanup if it still runs.
func StartHelper(t *testing.T, e *vethnet.End, env string) *Helper {
	t.Helper()
	cmd := e.NS.Command(os.Args[0], "-test.run=^"+helperTest+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+e.Name)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	attached := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "attached") {
			attached = true
			break
		}
		if strings.HasPrefix(sc.Text(), "error:") {
			t.Fatal(sc.Text())
		}
	}
	if !attached {
		t.Fatal("helper never attached")
	}
	return &Helper{cmd: cmd}
}

// Kill sends the child SIGKILL, so none of its Close calls run, and reaps
// it.
func (h *Helper) Kill(t testing.TB) {
	t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
}

// WaitUntil polls done every 20ms until it holds, and fails the test with
// msg if it still does not after d.
func WaitUntil(t testing.TB, d time.Duration, done func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TCXPrograms counts the tcx programs on e's ingress and egress.
func TCXPrograms(e *vethnet.End) (int, error) {
	n := 0
	err := e.NS.Do(func() error {
		for _, at := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
			r, err := link.QueryPrograms(link.QueryOptions{Target: e.Index, Attach: at})
			if err != nil {
				return err
			}
			n += len(r.Programs)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("query tcx on %s: %w", e.Name, err)
	}
	return n, nil
}

// CollectExactly reads from src until every frame of want has arrived, and
// for linger after, and fails the test unless exactly those frames came,
// each once, as view turns them back into the frames sent. It returns what
// arrived.
func CollectExactly(t testing.TB, src capture.Source, want []TestFrame, view func(Got) []byte, linger time.Duration) []Got {
	t.Helper()
	got, err := Collect(src, len(want), linger, 10*time.Second)
	if err != nil {
		t.Fatalf("collect after %d frames: %v", len(got), err)
	}
	r := Match(want, got, view)
	if len(r.Missing) != 0 || len(r.Unexpected) != 0 {
		var first []byte
		if len(r.Unexpected) > 0 {
			first = r.Unexpected[0]
		}
		t.Fatalf("want %d; matched %s; missing %s; %d unexpected (first % x)", len(want), KindCounts(r.Matched), KindCounts(r.Missing), len(r.Unexpected), first)
	}
	t.Logf("matched %s", KindCounts(r.Matched))
	return got
}

// ExpectNoNextAllocs fails the test unless src.Next allocates nothing per
// call, over 150 calls on frames already queued. An error fails it too,
// unless it is tolerate (nil tolerates none).
func ExpectNoNextAllocs(t testing.TB, src capture.Source, tolerate error) {
	t.Helper()
	var f capture.Frame
	if n := testing.AllocsPerRun(150, func() {
		if err := src.Next(&f); err != nil && !errors.Is(err, tolerate) {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Next allocates %v times per frame", n)
	}
}
