package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/visorng/visor/agent/config"
	"github.com/visorng/visor/agent/handler"
)

// Options configure an Agent.
type Options struct {
	// Handlers is the handler module table (default Handlers()).
	Handlers *handler.Registry
	// Inputs is the input type table (default Inputs()).
	Inputs map[string]InputFactory
	// Env is handed to every handler constructor.
	Env handler.Env
	// Periods and DeepSample are the window defaults of policies without
	// handlers.window_config (--periods, --max-deep-sample).
	Periods    int
	DeepSample int
	// Logger receives input lifecycle events; nil discards them.
	Logger *slog.Logger
	// Now is the wall clock (tests inject one).
	Now func() time.Time
}

// Agent owns taps, input streams and policies. All changes go through
// Apply, RemoveTap and RemovePolicy, which are transactional: a change that
// fails leaves the agent as it was, and running policies are not disturbed.
type Agent struct {
	opts    Options
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	started time.Time

	mu       sync.RWMutex
	taps     map[string]*Tap
	inputs   map[string]*inputInstance
	policies map[string]*Policy
	global   map[string]handler.Config
	closed   bool
}

// Tap is a named input template.
type Tap struct {
	Name      string
	InputType string
	Config    handler.Config
	Tags      handler.Config
}

// New builds an empty agent.
func New(opts Options) *Agent {
	if opts.Handlers == nil {
		opts.Handlers = Handlers()
	}
	if opts.Inputs == nil {
		opts.Inputs = Inputs()
	}
	if opts.Periods == 0 {
		opts.Periods = 5
	}
	if opts.DeepSample == 0 {
		opts.DeepSample = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Agent{
		opts: opts, log: log, ctx: ctx, cancel: cancel, started: opts.Now(),
		taps: map[string]*Tap{}, inputs: map[string]*inputInstance{}, policies: map[string]*Policy{},
		global: map[string]handler.Config{},
	}
}

// ErrClosed is returned by changes after Close.
var ErrClosed = errors.New("agent is shutting down")

// ErrManaged is returned when removing a policy the agent manages itself.
var ErrManaged = errors.New("policy is managed by the agent")

// Started is when the agent was built.
func (a *Agent) Started() time.Time { return a.started }

// Close stops every policy and input.
func (a *Agent) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.closed = true
	a.cancel()
	for _, in := range a.inputs {
		in.stop()
	}
	clear(a.inputs)
	clear(a.policies)
}

// ApplyYAML parses and applies a configuration document.
func (a *Agent) ApplyYAML(data []byte) (Applied, error) {
	doc, err := config.Parse(data)
	if err != nil {
		return Applied{}, err
	}
	return a.Apply(doc)
}

// Applied lists what a successful Apply created.
type Applied struct {
	Taps     []string
	Policies []string
}

// Apply adds the document's global handler config, taps and policies, all
// or nothing. New inputs start only once everything is built, so a file
// input's first packet reaches every handler.
func (a *Agent) Apply(doc *config.Document) (res Applied, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return res, ErrClosed
	}
	tx := &txn{a: a, oldGlobal: maps.Clone(a.global)}
	defer func() {
		if err != nil {
			tx.rollback()
			res = Applied{}
			return
		}
		tx.commit()
	}()
	for typ, c := range doc.GlobalHandlerConfig {
		if !a.knownHandlerType(typ) {
			a.log.Warn("global_handler_config names an unknown handler type; ignored", "type", typ)
			continue
		}
		a.global[typ] = c
	}
	for _, t := range doc.Taps {
		if err := tx.addTap(t); err != nil {
			return res, err
		}
		res.Taps = append(res.Taps, t.Name)
	}
	for _, p := range doc.Policies {
		names, err := tx.addPolicy(p)
		if err != nil {
			return res, err
		}
		res.Policies = append(res.Policies, names...)
	}
	return res, nil
}

func (a *Agent) knownHandlerType(typ string) bool {
	for _, k := range a.opts.Handlers.Keys() {
		if k.Type == typ {
			return true
		}
	}
	return false
}

// Taps returns the taps sorted by name.
func (a *Agent) Taps() []*Tap {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := slices.Collect(maps.Values(a.taps))
	slices.SortFunc(out, func(x, y *Tap) int { return cmpString(x.Name, y.Name) })
	return out
}

// Tap returns one tap.
func (a *Agent) Tap(name string) (*Tap, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	t, ok := a.taps[name]
	return t, ok
}

// Policies returns every policy (including the resources policies) sorted
// by name.
func (a *Agent) Policies() []*Policy {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := slices.Collect(maps.Values(a.policies))
	slices.SortFunc(out, func(x, y *Policy) int { return cmpString(x.name, y.name) })
	return out
}

// Policy returns one policy.
func (a *Agent) Policy(name string) (*Policy, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	p, ok := a.policies[name]
	return p, ok
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// RemovePolicy stops and removes a policy, its handlers, its input when no
// other policy uses it, and then the input's resources policy.
func (a *Agent) RemovePolicy(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.policies[name]
	if !ok {
		return fmt.Errorf("policy does not exists: %w", config.ErrNotFound)
	}
	if p.resources {
		return fmt.Errorf("policy '%s' is created with its input and removed with it: %w", name, ErrManaged)
	}
	a.removePolicyLocked(p)
	return nil
}

func (a *Agent) removePolicyLocked(p *Policy) {
	for _, c := range p.consumers {
		p.input.stream.Detach(c)
	}
	delete(a.policies, p.name)
	in := p.input
	in.users--
	if in.users > 0 {
		a.updateCounts(in)
		return
	}
	if in.resources != nil {
		for _, c := range in.resources.consumers {
			in.stream.Detach(c)
		}
		delete(a.policies, in.resources.name)
	}
	delete(a.inputs, in.name)
	in.stop()
	a.log.Info("input stopped", "input", in.name)
}

// RemoveTap removes a tap and every policy that reads it.
func (a *Agent) RemoveTap(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.taps[name]; !ok {
		return fmt.Errorf("tap does not exists: %w", config.ErrNotFound)
	}
	for _, p := range a.policies {
		if !p.resources && p.tap == name {
			a.removePolicyLocked(p)
		}
	}
	delete(a.taps, name)
	return nil
}

// WaitInputs blocks until every started input whose source is finite has
// ended (tests use it to read a whole file before querying).
func (a *Agent) WaitInputs(ctx context.Context) error {
	a.mu.RLock()
	var ins []*inputInstance
	for _, in := range a.inputs {
		if in.stream.Recorded() {
			ins = append(ins, in)
		}
	}
	a.mu.RUnlock()
	for _, in := range ins {
		if err := in.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// updateCounts tells the input's resources handler how many policies and
// handlers (a chain counts once) use it.
func (a *Agent) updateCounts(in *inputInstance) {
	if in.resources == nil {
		return
	}
	policies, handlers := 0, 0
	for _, p := range a.policies {
		if p.input == in && !p.resources {
			policies++
			handlers += len(p.consumers)
		}
	}
	for _, h := range in.resources.modules {
		if rc, ok := h.(ResourceCounter); ok {
			rc.SetCounts(policies, handlers)
		}
	}
}
