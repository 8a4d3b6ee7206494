package flowinput

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ListenConfig configures the UDP listener.
type ListenConfig struct {
	Bind string // listen address (pktvisor: "bind")
	Port int    // 0 picks a free port (tests); pktvisor requires one
	// RcvBuf is the socket receive buffer in bytes (0: system default).
	// SO_RCVBUFFORCE is tried first so root may exceed rmem_max.
	RcvBuf int
	// Sockets is how many SO_REUSEPORT sockets share the port, each read by
	// its own goroutine (0: one per CPU). The kernel spreads exporters over
	// them by address hash.
	Sockets int
}

// expireEvery is how often idle exporters' templates are swept.
const expireEvery = time.Minute

// Listener owns the sockets of a live flow input.
type Listener struct {
	in    *Input
	conns []*net.UDPConn
	drops []atomic.Uint32 // last SO_RXQ_OVFL value per socket
	last  atomic.Int64    // unix nanos of the last template sweep

	closeOnce sync.Once
}

// Listen opens the sockets. Serve reads them.
func (in *Input) Listen(cfg ListenConfig) (*Listener, error) {
	if cfg.Bind == "" {
		return nil, ErrNoBind
	}
	n := cfg.Sockets
	if n <= 0 {
		n = runtime.NumCPU()
	}
	if !reusePortSupported {
		n = 1
	}
	l := &Listener{in: in, drops: make([]atomic.Uint32, n)}
	addr := net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port))
	lc := net.ListenConfig{Control: func(_, _ string, c rawConn) error { return setSockopts(c, cfg.RcvBuf, n > 1) }}
	for i := 0; i < n; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("flow input: listen on %s: %w", addr, err)
		}
		conn := pc.(*net.UDPConn)
		l.conns = append(l.conns, conn)
		if i == 0 && cfg.Port == 0 {
			// Further sockets must share the port the kernel picked.
			addr = conn.LocalAddr().String()
		}
	}
	in.mu.Lock()
	in.drops = l.kernelDrops
	in.mu.Unlock()
	return l, nil
}

// Addr is the bound address.
func (l *Listener) Addr() netip.AddrPort {
	return l.conns[0].LocalAddr().(*net.UDPAddr).AddrPort()
}

func (l *Listener) kernelDrops() uint64 {
	var s uint64
	for i := range l.drops {
		s += uint64(l.drops[i].Load())
	}
	return s
}

// Serve reads every socket until ctx is cancelled or Close is called; it
// returns nil then. Decode errors are counted, never returned.
func (l *Listener) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	errs := make(chan error, len(l.conns))
	var wg sync.WaitGroup
	for i, c := range l.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- l.read(c, &l.drops[i])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	return nil
}

func (l *Listener) read(c *net.UDPConn, drops *atomic.Uint32) error {
	w := l.in.NewWorker()
	buf := make([]byte, 65536)
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := c.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			return err
		}
		if v, ok := rxqOverflow(oob[:oobn]); ok {
			drops.Store(v)
		}
		now := time.Now()
		if last := l.last.Load(); now.UnixNano()-last > int64(expireEvery) && l.last.CompareAndSwap(last, now.UnixNano()) {
			l.in.templates.Expire(now)
		}
		_ = l.in.Process(w, from.Addr().Unmap(), now, buf[:n])
	}
}

// Close closes the sockets; Serve returns.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		for _, c := range l.conns {
			c.Close()
		}
	})
	return nil
}
