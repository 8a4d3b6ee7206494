package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/visorng/visor/agent/handler"
)

// Stream is a running input instance: it feeds attached handlers until its
// context is cancelled or a finite source ends.
type Stream interface {
	Attach(h handler.Handler)
	Detach(h handler.Handler)
	// Run blocks until the input ends (nil) or fails; it returns
	// ctx.Err() when cancelled.
	Run(ctx context.Context) error
	// Close releases the source; called once after Run returned.
	Close() error
	// Recorded reports a file input (handlers get recorded_stream).
	Recorded() bool
	// Info is the input-specific section of the input info JSON
	// (pktvisor's "pcap": {...}) plus this agent's capture report.
	Info() map[string]any
}

// InputEnv carries agent services into input factories.
type InputEnv struct {
	Now func() time.Time
	// Log receives the input's own events (capture path chosen, paths
	// rejected and why, interface down); nil discards them.
	Log *slog.Logger
}

// InputFactory builds an input of one type from its merged, validated
// config. Nothing may start until Run.
type InputFactory struct {
	// Keys are the config/filter keys the input accepts.
	Keys []string
	// AnyKey skips key validation (pktvisor's mock input).
	AnyKey bool
	New    func(name string, cfg handler.Config, env InputEnv) (Stream, error)
}

// Inputs returns the table of built-in input types.
func Inputs() map[string]InputFactory {
	return map[string]InputFactory{
		"pcap":     {Keys: pcapKeys, New: newPcapStream},
		"mock":     {AnyKey: true, New: newMockStream},
		"dnstap":   {Keys: dnstapKeys, New: newDnstapStream},
		"netprobe": {Keys: netprobeKeys, New: newNetprobeStream},
		"flow":     {Keys: flowKeys, New: newFlowStream},
		"sflow":    {Keys: flowKeys, New: newFlowStream}, // pktvisor's alias
	}
}

// validateInput checks cfg's keys with pktvisor's message.
func validateInput(cfg handler.Config, keys []string) error {
	names := make([]string, 0, len(cfg))
	for k := range cfg {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.Contains(keys, k) {
			return fmt.Errorf("%s is an invalid/unsupported config or filter. The valid configs/filters are: %s", k, strings.Join(keys, ", "))
		}
	}
	return nil
}

// configHash is a stable digest of a config map: sorted key+value strings,
// lists sorted, nested maps hashed recursively, as pktvisor computes the
// input instance suffix.
func configHash(cfg handler.Config) string {
	sum := sha256.Sum256([]byte(canonical(cfg)))
	return hex.EncodeToString(sum[:6])
}

func canonical(cfg handler.Config) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		switch v := cfg[k].(type) {
		case handler.Config:
			b.WriteString("{" + canonical(v) + "}")
		case map[string]any:
			b.WriteString("{" + canonical(handler.Config(v)) + "}")
		case []string:
			l := slices.Clone(v)
			slices.Sort(l)
			b.WriteString("[" + strings.Join(l, ",") + "]")
		default:
			fmt.Fprintf(&b, "%T:%v", v, v)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// inputInstance is one running input stream shared by every policy with
// the same tap and identical config/filter.
type inputInstance struct {
	name      string
	tap       string
	inputType string
	config    handler.Config
	stream    Stream

	// users counts real policies; the resources policy is not one.
	users     int
	resources *Policy

	cancel  context.CancelFunc
	done    chan struct{}
	started bool

	mu      sync.Mutex
	running bool
	runErr  error
}

func (in *inputInstance) start(parent context.Context, onExit func(name string, err error)) {
	ctx, cancel := context.WithCancel(parent)
	in.cancel = cancel
	in.done = make(chan struct{})
	in.started = true
	in.mu.Lock()
	in.running = true
	in.mu.Unlock()
	go func() {
		defer close(in.done)
		err := in.stream.Run(ctx)
		if ctx.Err() != nil {
			err = nil
		}
		in.mu.Lock()
		in.running, in.runErr = false, err
		in.mu.Unlock()
		if onExit != nil {
			onExit(in.name, err)
		}
	}()
}

// stop cancels the input, waits for it and releases its source.
func (in *inputInstance) stop() {
	if in.started {
		in.cancel()
		<-in.done
	}
	_ = in.stream.Close()
}

// wait blocks until a started input's Run returned or ctx ends.
func (in *inputInstance) wait(ctx context.Context) error {
	if !in.started {
		return nil
	}
	select {
	case <-in.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (in *inputInstance) state() (running bool, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.running, in.runErr
}
