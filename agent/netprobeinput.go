package agent

import (
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input/netprobe"
)

var netprobeKeys = []string{"test_type", "interval_msec", "timeout_msec", "packets_per_test",
	"packets_interval_msec", "packet_payload_size", "targets"}

// netprobeStream adapts the active-probe input to Stream.
type netprobeStream struct {
	*netprobe.Input
}

var _ Stream = netprobeStream{}

func newNetprobeStream(_ string, cfg handler.Config, _ InputEnv) (Stream, error) {
	c, err := netprobe.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	in, err := netprobe.New(c, netprobe.Options{})
	if err != nil {
		return nil, err
	}
	return netprobeStream{in}, nil
}

func (netprobeStream) Close() error   { return nil }
func (netprobeStream) Recorded() bool { return false }
