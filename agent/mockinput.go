package agent

import (
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input/mock"
)

// mockStream adapts pktvisor's mock input (a random integer a second) to
// Stream. It accepts any config key, as pktvisor's does.
type mockStream struct {
	*mock.Input
}

var _ Stream = mockStream{}

func newMockStream(_ string, cfg handler.Config, _ InputEnv) (Stream, error) {
	in, err := mock.New(cfg, mock.Options{})
	if err != nil {
		return nil, err
	}
	return mockStream{in}, nil
}

func (mockStream) Close() error   { return nil }
func (mockStream) Recorded() bool { return false }
func (m mockStream) Info() map[string]any {
	return map[string]any{"mock": map[string]any{"sent": m.Sent()}}
}
