package handler

import (
	"fmt"
	"slices"
)

// Key identifies a handler module.
type Key struct{ Type, Version string }

// Env carries shared services into handler constructors.
type Env struct {
	// Enrich looks up geo/ASN data; nil when no database is loaded.
	Enrich Enricher
	// Services names transport ports (flow top lists); nil means numbers
	// or a handler's built-in default.
	Services ServiceNamer
}

// Factory builds a handler instance named name from cfg.
type Factory func(name string, cfg Config, env Env) (Handler, error)

// Registry is the explicit table of handler modules.
type Registry struct {
	m map[Key]Factory
}

// NewRegistry builds a registry from a literal table.
func NewRegistry(table map[Key]Factory) *Registry {
	m := make(map[Key]Factory, len(table))
	for k, f := range table {
		m[k] = f
	}
	return &Registry{m: m}
}

// Lookup returns the factory for typ/version.
func (r *Registry) Lookup(typ, version string) (Factory, bool) {
	f, ok := r.m[Key{typ, version}]
	return f, ok
}

// New builds an instance, with an error naming what was missing.
func (r *Registry) New(typ, version, name string, cfg Config, env Env) (Handler, error) {
	f, ok := r.Lookup(typ, version)
	if !ok {
		return nil, fmt.Errorf("stream handler type '%s' version '%s' is not available", typ, version)
	}
	return f(name, cfg, env)
}

// Keys lists the registered modules, sorted.
func (r *Registry) Keys() []Key {
	keys := make([]Key, 0, len(r.m))
	for k := range r.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if a.Type != b.Type {
			if a.Type < b.Type {
				return -1
			}
			return 1
		}
		if a.Version < b.Version {
			return -1
		}
		if a.Version > b.Version {
			return 1
		}
		return 0
	})
	return keys
}
