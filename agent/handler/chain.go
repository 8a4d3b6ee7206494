package handler

import "github.com/visorng/visor/decode"

// Passer is implemented by handlers that filter packets, so they can sit
// in a chained policy (handlers.modules as a sequence): after the handler
// consumed p, the next handler in the chain receives p only if Pass(p) is
// true. Handlers that do not implement it let everything through.
// Pass must not change the handler's state.
type Passer interface {
	Pass(p *decode.Packet) bool
}
