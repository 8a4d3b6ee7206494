package handler

import (
	"time"

	"github.com/visorng/visor/agent/window"
)

// Module is what a handler answers to Type, Version and Schema.
type Module struct {
	Type, Version, Schema string
}

// Windowed answers the methods of Handler, Ticker and Bounded that depend
// only on a handler's identity, metric groups and window, which every
// handler used to spell out alike. A handler embeds it, set with
// NewWindowed once its window manager exists, and defines a method itself
// only where it differs.
type Windowed[B window.Bucket[B]] struct {
	module Module
	name   string
	groups Groups
	mgr    *window.Manager[B]
}

// NewWindowed ties the methods to a handler's module, common settings,
// groups (nil for a handler without groups, which always emits) and window.
func NewWindowed[B window.Bucket[B]](m Module, c Common, g Groups, mgr *window.Manager[B]) Windowed[B] {
	return Windowed[B]{module: m, name: c.Name, groups: g, mgr: mgr}
}

func (w *Windowed[B]) Name() string    { return w.name }
func (w *Windowed[B]) Type() string    { return w.module.Type }
func (w *Windowed[B]) Version() string { return w.module.Version }
func (w *Windowed[B]) Schema() string  { return w.module.Schema }
func (w *Windowed[B]) Periods() int    { return w.mgr.Periods() }

// Emits is false only when a handler with groups has every group disabled.
func (w *Windowed[B]) Emits() bool { return w.groups == nil || w.groups.Any() }

func (w *Windowed[B]) StartAt(ts time.Time) { w.mgr.Lock(); w.mgr.SetStart(ts); w.mgr.Unlock() }
func (w *Windowed[B]) EndAt(ts time.Time)   { w.mgr.End(ts) }
func (w *Windowed[B]) Tick(ts time.Time)    { w.mgr.Lock(); w.mgr.Tick(ts); w.mgr.Unlock() }
