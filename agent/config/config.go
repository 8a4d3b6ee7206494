// Package config parses pktvisor's YAML configuration (taps, policies,
// agent options, global handler config) into plain values, keeping the line
// and column of every key so each error names where it is. It knows the
// shape of the document, not what the values mean: module types, input keys
// and tap references are checked by the agent that applies the document.
package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/visorng/visor/agent/handler"
)

// MaxDepth bounds how deeply config maps may nest. pktvisor's deepest real
// config (flow device_map → interfaces → id → name) is five levels; the
// bound keeps hostile documents from costing stack and time.
const MaxDepth = 16

// Pos is a position in the YAML source.
type Pos struct{ Line, Column int }

// Error is a configuration error at a position. Its text is pktvisor's
// message with " (line L, column C)" appended.
type Error struct {
	Msg string
	Pos Pos
	// Err is a category sentinel (ErrExists, ErrNoTapMatch) or nil.
	Err error
}

func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s (line %d, column %d)", e.Msg, e.Pos.Line, e.Pos.Column)
}

func (e *Error) Unwrap() error { return e.Err }

// Category sentinels the REST API maps to status codes.
var (
	// ErrExists: a tap, policy or module name is already defined (409).
	ErrExists = errors.New("already defined")
	// ErrNoTapMatch: a tap selector matched no tap (422).
	ErrNoTapMatch = errors.New("no tap match")
	// ErrNotFound: a referenced tap or policy does not exist.
	ErrNotFound = errors.New("not found")
)

// Errorf builds an Error at the position of node n (which may be nil).
func Errorf(n *yaml.Node, format string, args ...any) *Error {
	e := &Error{Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Pos = Pos{n.Line, n.Column}
	}
	return e
}

// NameRE is pktvisor's rule for module, tap and policy names. It also keeps
// names safe in URL paths and Prometheus label values.
var NameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_-]*$`)

// Document is one parsed configuration document.
type Document struct {
	Version string
	// Options are visor.config, typed like every config map.
	Options    handler.Config
	OptionsPos Pos
	Taps       []Tap
	// GlobalHandlerConfig maps handler type to config merged under every
	// handler of that type.
	GlobalHandlerConfig map[string]handler.Config
	Policies            []Policy
	HasTaps             bool
	HasPolicies         bool
}

// Tap is a named input template.
type Tap struct {
	Name      string
	InputType string
	Config    handler.Config
	Tags      handler.Config
	Pos       Pos
}

// Policy is one collection policy as written.
type Policy struct {
	Name              string
	Pos               Pos
	Kind              string
	MergeLikeHandlers bool
	Input             Input
	// WindowConfig is handlers.window_config; nil when absent (the agent's
	// CLI defaults apply).
	WindowConfig handler.Config
	Modules      []Module
	// Chained is true when handlers.modules is a sequence.
	Chained bool
}

// Input is a policy's input section.
type Input struct {
	Tap       string
	TapPos    Pos
	Selector  *Selector
	InputType string
	Config    handler.Config
	Filter    handler.Config
	Pos       Pos
}

// Selector matches taps by tags.
type Selector struct {
	// All requires every tag to match; otherwise any one suffices.
	All  bool
	Tags []Tag
	Pos  Pos
}

// Tag is one selector pair; Value is typed like a config scalar.
type Tag struct {
	Key   string
	Value any
	Pos   Pos
}

// Module is one handler module of a policy.
type Module struct {
	ID        string
	Type      string
	Version   string
	Config    handler.Config
	Filter    handler.Config
	Enable    []string
	Disable   []string
	HasGroups bool
	Pos       Pos
}

// OptionKeys are the keys visor.config accepts (the CLI options).
var OptionKeys = []string{"verbose", "daemon", "no_track", "max_deep_sample", "periods", "syslog", "log_file",
	"prometheus", "prom_instance", "geo_city", "geo_asn", "geo_cache_size", "default_geo_city", "default_geo_asn",
	"iana_service_port_registry", "default_service_registry", "admin_api", "tls", "port", "host", "tls_cert",
	"tls_key", "otel", "otel_tls", "otel_host", "otel_path", "otel_port", "otel_interval", "otel_tls_cert",
	"otel_tls_key", "module_list", "module_dir", "cp_disable", "cp_token", "cp_url", "cp_custom", "cp_path"}

// Parse reads one YAML document.
func Parse(data []byte) (*Document, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, &Error{Msg: "invalid schema"}
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, Errorf(top, "invalid schema")
	}
	doc := &Document{}
	var visor *yaml.Node
	err := eachPair(top, func(k, v *yaml.Node) error {
		switch k.Value {
		case "version":
			if v.Kind != yaml.ScalarNode || v.Value != "1.0" {
				return Errorf(v, "unsupported version")
			}
			doc.Version = v.Value
		case "visor":
			visor = v
		default:
			return unknownKey(k, "version", "visor")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if visor == nil || visor.Kind != yaml.MappingNode {
		return nil, Errorf(orNode(visor, top), "invalid schema")
	}
	err = eachPair(visor, func(k, v *yaml.Node) error {
		switch k.Value {
		case "config":
			return doc.parseOptions(v)
		case "taps":
			doc.HasTaps = true
			return doc.parseTaps(v)
		case "global_handler_config":
			return doc.parseGlobal(v)
		case "policies":
			doc.HasPolicies = true
			return doc.parsePolicies(v)
		}
		return unknownKey(k, "config", "taps", "global_handler_config", "policies")
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

func orNode(n, def *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return def
}

func unknownKey(k *yaml.Node, valid ...string) error {
	return Errorf(k, "unknown key '%s'; valid keys are: %s", k.Value, strings.Join(valid, ", "))
}

// eachPair walks a mapping in document order, rejecting duplicate keys
// (yaml.v3's Node API does not) and merge keys.
func eachPair(m *yaml.Node, fn func(k, v *yaml.Node) error) error {
	seen := make(map[string]bool, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return Errorf(k, "map keys must be scalars")
		}
		if k.Tag == "!!merge" {
			return Errorf(k, "YAML merge keys are not supported")
		}
		if seen[k.Value] {
			return Errorf(k, "duplicate key '%s'", k.Value)
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode {
			// Following aliases would let a small document expand into a
			// huge one; configs do not need them.
			return Errorf(v, "YAML aliases are not supported")
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (d *Document) parseOptions(v *yaml.Node) error {
	c, err := ConfigMap(v, "visor.config is not a map")
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k := v.Content[i]
		if !slices.Contains(OptionKeys, k.Value) {
			return Errorf(k, "%s is an invalid/unsupported config option", k.Value)
		}
	}
	d.Options, d.OptionsPos = c, Pos{v.Line, v.Column}
	return nil
}

func (d *Document) parseTaps(v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return Errorf(v, "expecting tap configuration map")
	}
	return eachPair(v, func(k, t *yaml.Node) error {
		if !NameRE.MatchString(k.Value) {
			return Errorf(k, "invalid tap name '%s': must match %s", k.Value, NameRE)
		}
		if t.Kind != yaml.MappingNode {
			return Errorf(t, "expecting tap configuration map")
		}
		tap := Tap{Name: k.Value, Pos: Pos{k.Line, k.Column}}
		err := eachPair(t, func(tk, tv *yaml.Node) error {
			var err error
			switch tk.Value {
			case "input_type":
				if tv.Kind != yaml.ScalarNode || tv.Value == "" {
					return Errorf(tv, "missing or invalid tap type key 'input_type'")
				}
				tap.InputType = tv.Value
			case "config":
				tap.Config, err = ConfigMap(tv, "tap configuration is not a map")
			case "tags":
				tap.Tags, err = ConfigMap(tv, "tap tags are not a map")
			default:
				return unknownKey(tk, "input_type", "config", "tags")
			}
			return err
		})
		if err != nil {
			return err
		}
		if tap.InputType == "" {
			return Errorf(k, "missing or invalid tap type key 'input_type'")
		}
		d.Taps = append(d.Taps, tap)
		return nil
	})
}

func (d *Document) parseGlobal(v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return Errorf(v, "expecting global_handler_config configuration map")
	}
	d.GlobalHandlerConfig = map[string]handler.Config{}
	return eachPair(v, func(k, c *yaml.Node) error {
		m, err := ConfigMap(c, "expecting global_handler_config configuration map")
		if err != nil {
			return err
		}
		d.GlobalHandlerConfig[k.Value] = m
		return nil
	})
}

func (d *Document) parsePolicies(v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return Errorf(v, "expecting policy configuration map")
	}
	return eachPair(v, func(k, p *yaml.Node) error {
		if !NameRE.MatchString(k.Value) {
			return Errorf(k, "invalid policy name '%s': must match %s", k.Value, NameRE)
		}
		pol, err := parsePolicy(k, p)
		if err != nil {
			return err
		}
		d.Policies = append(d.Policies, pol)
		return nil
	})
}

func parsePolicy(k, p *yaml.Node) (Policy, error) {
	pol := Policy{Name: k.Value, Pos: Pos{k.Line, k.Column}}
	if p.Kind != yaml.MappingNode {
		return pol, Errorf(p, "expecting policy configuration map")
	}
	var input, handlers *yaml.Node
	err := eachPair(p, func(pk, pv *yaml.Node) error {
		switch pk.Value {
		case "kind":
			if pv.Kind != yaml.ScalarNode {
				return Errorf(pv, "missing or invalid policy kind at key 'kind'")
			}
			if pv.Value != "collection" {
				return Errorf(pv, "unknown policy kind: %s", pv.Value)
			}
			pol.Kind = pv.Value
		case "description":
		case "config":
			if pv.Kind != yaml.MappingNode {
				return Errorf(pv, "policy configuration is not a map")
			}
			return eachPair(pv, func(ck, cv *yaml.Node) error {
				if ck.Value != "merge_like_handlers" {
					return unknownKey(ck, "merge_like_handlers")
				}
				b, ok := scalarBool(cv)
				if !ok {
					return Errorf(cv, "merge_like_handlers must be a boolean")
				}
				pol.MergeLikeHandlers = b
				return nil
			})
		case "input":
			input = pv
		case "handlers":
			handlers = pv
		default:
			return unknownKey(pk, "kind", "description", "config", "input", "handlers")
		}
		return nil
	})
	if err != nil {
		return pol, err
	}
	if pol.Kind == "" {
		return pol, Errorf(k, "missing or invalid policy kind at key 'kind'")
	}
	if input == nil || input.Kind != yaml.MappingNode {
		return pol, Errorf(orNode(input, k), "missing or invalid input configuration at key 'input'")
	}
	if pol.Input, err = parseInput(input); err != nil {
		return pol, err
	}
	if handlers == nil || handlers.Kind != yaml.MappingNode {
		return pol, Errorf(orNode(handlers, k), "missing or invalid handler configuration at key 'handlers'")
	}
	if err := pol.parseHandlers(handlers); err != nil {
		return pol, err
	}
	return pol, nil
}

func parseInput(n *yaml.Node) (Input, error) {
	in := Input{Pos: Pos{n.Line, n.Column}}
	var haveTap, haveSel bool
	err := eachPair(n, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "tap":
			if v.Kind != yaml.ScalarNode {
				return Errorf(v, "input.tap must be a tap name")
			}
			haveTap, in.Tap, in.TapPos = true, v.Value, Pos{v.Line, v.Column}
		case "tap_selector":
			haveSel = true
			in.Selector, err = parseSelector(v)
		case "input_type":
			if v.Kind != yaml.ScalarNode {
				return Errorf(v, "missing or invalid input_type at key 'input.input_type'")
			}
			in.InputType = v.Value
		case "config":
			in.Config, err = ConfigMap(v, "input configuration is not a map")
		case "filter":
			in.Filter, err = ConfigMap(v, "input filter configuration is not a map")
		default:
			return unknownKey(k, "tap", "tap_selector", "input_type", "config", "filter")
		}
		return err
	})
	if err != nil {
		return in, err
	}
	if haveTap && haveSel {
		return in, Errorf(n, "input can have only key 'input.tap' or key 'input.tap_selector'")
	}
	if !haveTap && !haveSel {
		return in, Errorf(n, "missing key 'input.tap' or key 'input.tap_selector'")
	}
	if in.InputType == "" {
		return in, Errorf(n, "missing or invalid input_type at key 'input.input_type'")
	}
	return in, nil
}

func parseSelector(n *yaml.Node) (*Selector, error) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return nil, Errorf(n, "input.tap_selector must hold exactly one of 'all' or 'any'")
	}
	k, v := n.Content[0], n.Content[1]
	sel := &Selector{Pos: Pos{k.Line, k.Column}}
	switch k.Value {
	case "all":
		sel.All = true
	case "any":
	default:
		return nil, unknownKey(k, "all", "any")
	}
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		return nil, Errorf(v, "input.tap_selector.%s must be a sequence of single key: value maps", k.Value)
	}
	for _, e := range v.Content {
		if e.Kind != yaml.MappingNode || len(e.Content) != 2 || e.Content[1].Kind != yaml.ScalarNode {
			return nil, Errorf(e, "input.tap_selector.%s must be a sequence of single key: value maps", k.Value)
		}
		sel.Tags = append(sel.Tags, Tag{Key: e.Content[0].Value, Value: Scalar(e.Content[1]),
			Pos: Pos{e.Content[0].Line, e.Content[0].Column}})
	}
	return sel, nil
}

func (p *Policy) parseHandlers(n *yaml.Node) error {
	var modules *yaml.Node
	err := eachPair(n, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "window_config":
			p.WindowConfig, err = ConfigMap(v, "handlers.window_config is not a map")
			if err == nil {
				err = checkKeys(v, "num_periods", "deep_sample_rate", "topn_count", "topn_percentile_threshold")
			}
		case "modules":
			modules = v
		default:
			return unknownKey(k, "window_config", "modules")
		}
		return err
	})
	if err != nil {
		return err
	}
	if modules == nil {
		return Errorf(n, "missing or invalid handler modules at key 'modules'")
	}
	ids := map[string]bool{}
	add := func(m Module) error {
		if ids[m.ID] {
			return &Error{Msg: fmt.Sprintf("module name '%s' already exists", m.ID), Pos: m.Pos, Err: ErrExists}
		}
		ids[m.ID] = true
		p.Modules = append(p.Modules, m)
		return nil
	}
	switch modules.Kind {
	case yaml.MappingNode:
		return eachPair(modules, func(k, v *yaml.Node) error {
			m, err := parseModule(k, v)
			if err != nil {
				return err
			}
			return add(m)
		})
	case yaml.SequenceNode:
		p.Chained = true
		for _, e := range modules.Content {
			if e.Kind != yaml.MappingNode || len(e.Content) == 0 {
				return Errorf(e, "stream handler configuration is not a map")
			}
			// "- id: {type: …}" or "- id:\n  type: …" with the module keys
			// beside the id key (pktvisor accepts both).
			k, v := e.Content[0], e.Content[1]
			if len(e.Content) > 2 || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				v = &yaml.Node{Kind: yaml.MappingNode, Line: e.Line, Column: e.Column, Content: e.Content[2:]}
			}
			m, err := parseModule(k, v)
			if err != nil {
				return err
			}
			if err := add(m); err != nil {
				return err
			}
		}
		if len(p.Modules) == 0 {
			return Errorf(modules, "missing or invalid handler modules at key 'modules'")
		}
		return nil
	}
	return Errorf(modules, "missing or invalid handler modules at key 'modules'")
}

func parseModule(k, v *yaml.Node) (Module, error) {
	m := Module{ID: k.Value, Version: "1.0", Pos: Pos{k.Line, k.Column}}
	if !NameRE.MatchString(m.ID) {
		return m, Errorf(k, "invalid module name '%s': must match %s", m.ID, NameRE)
	}
	if v.Kind != yaml.MappingNode {
		return m, Errorf(v, "stream handler configuration is not a map")
	}
	err := eachPair(v, func(mk, mv *yaml.Node) error {
		var err error
		switch mk.Value {
		case "type":
			if mv.Kind != yaml.ScalarNode || mv.Value == "" {
				return Errorf(mv, "missing or invalid stream handler type at key 'type'")
			}
			m.Type = mv.Value
		case "require_version":
			if mv.Kind != yaml.ScalarNode {
				return Errorf(mv, "require_version must be a string")
			}
			m.Version = mv.Value
		case "config":
			m.Config, err = ConfigMap(mv, "stream handler configuration is not a map")
		case "filter":
			m.Filter, err = ConfigMap(mv, "stream handler filter configuration is not a map")
		case "metric_groups":
			m.HasGroups = true
			err = m.parseGroups(mv)
		default:
			return unknownKey(mk, "type", "require_version", "config", "filter", "metric_groups")
		}
		return err
	})
	if err != nil {
		return m, err
	}
	if m.Type == "" {
		return m, Errorf(k, "missing or invalid stream handler type at key 'type'")
	}
	return m, nil
}

func (m *Module) parseGroups(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return Errorf(n, "stream handler metric groups is not a map")
	}
	found := false
	err := eachPair(n, func(k, v *yaml.Node) error {
		var dst *[]string
		switch k.Value {
		case "enable":
			dst = &m.Enable
		case "disable":
			dst = &m.Disable
		default:
			return Errorf(k, "stream handler metric groups should contain enable and/or disable tags")
		}
		found = true
		if v.Kind != yaml.SequenceNode {
			return Errorf(v, "metric_groups.%s must be a sequence of group names", k.Value)
		}
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				return Errorf(e, "metric_groups.%s must be a sequence of group names", k.Value)
			}
			*dst = append(*dst, e.Value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		return Errorf(n, "stream handler metric groups should contain enable and/or disable tags")
	}
	return nil
}

func checkKeys(m *yaml.Node, valid ...string) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !slices.Contains(valid, m.Content[i].Value) {
			return unknownKey(m.Content[i], valid...)
		}
	}
	return nil
}
