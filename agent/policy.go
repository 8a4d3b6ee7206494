package agent

import (
	"fmt"
	"maps"
	"slices"

	"github.com/visorng/visor/agent/config"
	"github.com/visorng/visor/agent/handler"
)

// Policy is one running collection policy bound to one tap.
type Policy struct {
	name      string
	tap       string
	input     *inputInstance
	modules   []handler.Handler
	configs   []handler.Config // each module's merged config, for info
	consumers []handler.Handler
	chained   bool
	merge     bool
	resources bool
}

func (p *Policy) Name() string { return p.name }

// Tap is the tap the policy reads.
func (p *Policy) Tap() string { return p.tap }

// InputName is the shared input instance name (<tap>-<hash>).
func (p *Policy) InputName() string { return p.input.name }

// Handlers are the policy's handler instances in module order.
func (p *Policy) Handlers() []handler.Handler { return p.modules }

// MergeLikeHandlers reports config.merge_like_handlers.
func (p *Policy) MergeLikeHandlers() bool { return p.merge }

// IsResources reports an automatic <input>-resources policy.
func (p *Policy) IsResources() bool { return p.resources }

// txn records what one change created so it can be undone.
type txn struct {
	a         *Agent
	oldGlobal map[string]handler.Config
	taps      []string
	policies  []*Policy
	newInputs []*inputInstance
}

func (tx *txn) rollback() {
	a := tx.a
	for _, p := range slices.Backward(tx.policies) {
		for _, c := range p.consumers {
			p.input.stream.Detach(c)
		}
		delete(a.policies, p.name)
		if !p.resources {
			p.input.users--
		}
	}
	for _, in := range tx.newInputs {
		delete(a.inputs, in.name)
		in.stop()
	}
	for _, t := range tx.taps {
		delete(a.taps, t)
	}
	a.global = tx.oldGlobal
}

func (tx *txn) commit() {
	a := tx.a
	touched := map[*inputInstance]bool{}
	for _, p := range tx.policies {
		touched[p.input] = true
	}
	for in := range touched {
		a.updateCounts(in)
	}
	for _, in := range tx.newInputs {
		in.start(a.ctx, func(name string, err error) {
			if err != nil {
				a.log.Error("input failed", "input", name, "err", err)
				return
			}
			a.log.Info("input ended", "input", name)
		})
		a.log.Info("input started", "input", in.name)
	}
}

func (tx *txn) addTap(t config.Tap) error {
	a := tx.a
	if _, ok := a.taps[t.Name]; ok {
		return &config.Error{Msg: fmt.Sprintf("tap with name '%s' already defined", t.Name), Pos: t.Pos, Err: config.ErrExists}
	}
	if _, ok := a.opts.Inputs[t.InputType]; !ok {
		return &config.Error{Msg: fmt.Sprintf("Tap '%s' requires input stream type '%s' which is not available", t.Name, t.InputType), Pos: t.Pos}
	}
	cfg := t.Config
	if cfg == nil {
		cfg = handler.Config{}
	}
	tags := t.Tags
	if tags == nil {
		tags = handler.Config{}
	}
	a.taps[t.Name] = &Tap{Name: t.Name, InputType: t.InputType, Config: cfg, Tags: tags}
	tx.taps = append(tx.taps, t.Name)
	return nil
}

// addPolicy builds one policy instance per matching tap.
func (tx *txn) addPolicy(pc config.Policy) ([]string, error) {
	a := tx.a
	if _, ok := a.policies[pc.Name]; ok {
		return nil, &config.Error{Msg: fmt.Sprintf("policy with name '%s' already defined", pc.Name), Pos: pc.Pos, Err: config.ErrExists}
	}
	var taps []*Tap
	if pc.Input.Selector == nil {
		t, ok := a.taps[pc.Input.Tap]
		if !ok {
			return nil, &config.Error{Msg: fmt.Sprintf("tap '%s' does not exist", pc.Input.Tap), Pos: pc.Input.TapPos}
		}
		taps = []*Tap{t}
	} else {
		var err error
		if taps, err = tx.selectTaps(pc.Input.Selector); err != nil {
			return nil, err
		}
	}
	var names []string
	for _, t := range taps {
		name := pc.Name
		if len(taps) > 1 {
			// One instance per matching tap; a lone match keeps the
			// policy's own name so its REST paths stay predictable.
			name = pc.Name + "_" + t.Name
		}
		if _, ok := a.policies[name]; ok {
			return nil, &config.Error{Msg: fmt.Sprintf("policy with name '%s' already defined", name), Pos: pc.Pos, Err: config.ErrExists}
		}
		if err := tx.buildPolicy(name, pc, t); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

func (tx *txn) selectTaps(sel *config.Selector) ([]*Tap, error) {
	a := tx.a
	var out []*Tap
	names := slices.Sorted(maps.Keys(a.taps))
	for _, tn := range names {
		t := a.taps[tn]
		matches := 0
		for _, tag := range sel.Tags {
			v, ok := t.Tags[tag.Key]
			if !ok {
				continue
			}
			if fmt.Sprintf("%T", v) != fmt.Sprintf("%T", tag.Value) {
				return nil, &config.Error{Msg: fmt.Sprintf("Tap [%s]: tag and selector value types are different for key '%s'", t.Name, tag.Key), Pos: tag.Pos}
			}
			if v == tag.Value {
				matches++
			}
		}
		if sel.All && matches == len(sel.Tags) || !sel.All && matches > 0 {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, &config.Error{Msg: "no tap match found for specified 'input.tap_selector' tags", Pos: sel.Pos, Err: config.ErrNoTapMatch}
	}
	return out, nil
}

func (tx *txn) buildPolicy(name string, pc config.Policy, t *Tap) error {
	a := tx.a
	if pc.Input.InputType != t.InputType {
		return &config.Error{Msg: fmt.Sprintf("input_type for policy specified tap '%s' doesn't match tap's defined input type: %s/%s", t.Name, pc.Input.InputType, t.InputType), Pos: pc.Input.Pos}
	}
	inCfg := t.Config.Merge(pc.Input.Config).Merge(pc.Input.Filter)
	in, err := tx.inputFor(t, inCfg, pc.Input.Pos)
	if err != nil {
		return err
	}
	p := &Policy{name: name, tap: t.Name, input: in, chained: pc.Chained, merge: pc.MergeLikeHandlers}
	// Register first so a failure below is undone by rollback.
	a.policies[name] = p
	tx.policies = append(tx.policies, p)
	in.users++

	window := pc.WindowConfig
	if window == nil {
		window = handler.Config{"num_periods": uint64(a.opts.Periods), "deep_sample_rate": uint64(a.opts.DeepSample)}
	}
	for _, m := range pc.Modules {
		hname := name + "-" + t.Name + "-" + m.ID
		if a.handlerNameUsed(hname) {
			return &config.Error{Msg: fmt.Sprintf("module name '%s' already exists", hname), Pos: m.Pos, Err: config.ErrExists}
		}
		if _, ok := a.opts.Handlers.Lookup(m.Type, m.Version); !ok {
			return &config.Error{Msg: fmt.Sprintf("Policy '%s' requires stream handler type '%s' and version '%s' which is not available", name, m.Type, m.Version), Pos: m.Pos}
		}
		cfg := handler.Config{}.Merge(a.global[m.Type]).Merge(window).Merge(m.Config).Merge(m.Filter)
		if m.Enable != nil {
			cfg["enable"] = m.Enable
		}
		if m.Disable != nil {
			cfg["disable"] = m.Disable
		}
		cfg["_internal_tap_name"] = t.Name
		if in.stream.Recorded() {
			cfg["recorded_stream"] = true
		}
		h, err := a.opts.Handlers.New(m.Type, m.Version, hname, cfg, a.opts.Env)
		if err != nil {
			return &config.Error{Msg: err.Error(), Pos: m.Pos}
		}
		p.modules = append(p.modules, h)
		p.configs = append(p.configs, cfg)
	}
	if p.chained {
		p.consumers = []handler.Handler{&chain{name: name, stages: p.modules}}
	} else {
		p.consumers = slices.Clone(p.modules)
	}
	for _, c := range p.consumers {
		in.stream.Attach(c)
	}
	return nil
}

func (a *Agent) handlerNameUsed(name string) bool {
	for _, p := range a.policies {
		for _, h := range p.modules {
			if h.Name() == name {
				return true
			}
		}
	}
	return false
}

// inputFor returns the shared input instance for tap+cfg, creating it (and
// its resources policy) when none exists yet.
func (tx *txn) inputFor(t *Tap, cfg handler.Config, pos config.Pos) (*inputInstance, error) {
	a := tx.a
	f := a.opts.Inputs[t.InputType]
	if !f.AnyKey {
		if err := validateInput(cfg, f.Keys); err != nil {
			return nil, &config.Error{Msg: err.Error(), Pos: pos}
		}
	}
	name := t.Name + "-" + configHash(cfg)
	if in, ok := a.inputs[name]; ok {
		return in, nil
	}
	stream, err := f.New(name, cfg, InputEnv{Now: a.opts.Now, Log: a.log.With("component", "input", "input", name)})
	if err != nil {
		return nil, &config.Error{Msg: err.Error(), Pos: pos}
	}
	in := &inputInstance{name: name, tap: t.Name, inputType: t.InputType, config: maps.Clone(cfg), stream: stream}
	a.inputs[name] = in
	tx.newInputs = append(tx.newInputs, in)
	return in, tx.addResources(in)
}

func (tx *txn) addResources(in *inputInstance) error {
	a := tx.a
	name := in.name + "-resources"
	cfg := handler.Config{"num_periods": uint64(a.opts.Periods), "deep_sample_rate": uint64(100),
		"_internal_tap_name": in.tap}
	if in.stream.Recorded() {
		cfg["recorded_stream"] = true
	}
	var h handler.Handler
	var err error
	if _, ok := a.opts.Handlers.Lookup(resourcesType, "1.0"); ok {
		h, err = a.opts.Handlers.New(resourcesType, "1.0", name, cfg, a.opts.Env)
	} else {
		h, err = newPlaceholderResources(name, cfg, a.opts.Env)
	}
	if err != nil {
		return fmt.Errorf("resources handler for %s: %w", in.name, err)
	}
	p := &Policy{name: name, tap: in.tap, input: in, modules: []handler.Handler{h}, configs: []handler.Config{cfg},
		consumers: []handler.Handler{h}, resources: true}
	a.policies[name] = p
	tx.policies = append(tx.policies, p)
	in.resources = p
	in.stream.Attach(h)
	return nil
}
