//go:build linux && libpcap

package capturetest

import (
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/libpcap"
)

func tagPaths() []path {
	return []path{{name: "libpcap", deep: true, open: func(ifname string) (capture.Source, error) {
		return libpcap.Open(libpcap.Options{Iface: ifname, PollTimeout: 20 * time.Millisecond})
	}}}
}
