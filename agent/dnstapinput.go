package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input/dnstap"
)

var dnstapKeys = []string{"tcp", "socket", "dnstap_file", "only_hosts"}

// dnstapStream adapts the dnstap input (file, unix socket or TCP listener)
// to Stream.
type dnstapStream struct {
	*dnstap.Input
	recorded bool
	mode     string
}

var _ Stream = (*dnstapStream)(nil)

func newDnstapStream(_ string, cfg handler.Config, _ InputEnv) (Stream, error) {
	file, err := cfg.String("dnstap_file", "")
	if err != nil {
		return nil, err
	}
	socket, err := cfg.String("socket", "")
	if err != nil {
		return nil, err
	}
	tcp, err := cfg.String("tcp", "")
	if err != nil {
		return nil, err
	}
	hosts, err := cfg.StringList("only_hosts")
	if err != nil {
		return nil, err
	}
	opts := dnstap.Options{}
	for _, h := range hosts {
		p, err := netip.ParsePrefix(h)
		if err != nil {
			return nil, fmt.Errorf("only_hosts: invalid CIDR: %s", h)
		}
		opts.OnlyHosts = append(opts.OnlyHosts, p)
	}
	s := &dnstapStream{}
	// pktvisor's precedence: file, then socket, then TCP.
	switch {
	case file != "":
		opts.File, s.recorded, s.mode = file, true, "file"
	case socket != "":
		opts.Socket, s.mode = socket, "socket"
	case tcp != "":
		if _, _, err := net.SplitHostPort(tcp); err != nil {
			return nil, errors.New("invalid tcp address specification, use HOST:PORT")
		}
		opts.TCP, s.mode = tcp, "tcp"
	default:
		return nil, errors.New("config must specify one of: socket, dnstap_file")
	}
	in, err := dnstap.New(opts)
	if err != nil {
		return nil, err
	}
	s.Input = in
	return s, nil
}

func (s *dnstapStream) Close() error   { return nil }
func (s *dnstapStream) Recorded() bool { return s.recorded }

func (s *dnstapStream) Info() map[string]any {
	c := &s.Counters
	return map[string]any{"dnstap": map[string]any{
		"mode":            s.mode,
		"sessions":        c.Sessions.Load(),
		"frames":          c.Frames.Load(),
		"messages":        c.Messages.Load(),
		"filtered":        c.Filtered.Load(),
		"skipped":         c.Skipped.Load(),
		"decode_errors":   c.DecodeErrors.Load(),
		"protocol_errors": c.ProtocolErrors.Load(),
	}}
}
