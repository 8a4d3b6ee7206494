//go:build linux

// Package capturetest exports the capture sources' privileged test helpers
// (throwaway network namespaces joined by a veth pair, a raw-frame
// injector and the known frame mix) to tests outside agent/capture, such as
// the agent's own tests of pcap_source. It only forwards to
// agent/capture/internal/nettest, so both stay one implementation.
package capturetest

import (
	"net"
	"testing"

	"github.com/visorng/visor/agent/capture/internal/nettest"
)

// Aliases of the helper types; see package nettest for their docs.
type (
	NS         = nettest.NS
	End        = nettest.End
	Veth       = nettest.Veth
	VethConfig = nettest.VethConfig
	Injector   = nettest.Injector
	Kind       = nettest.Kind
	TestFrame  = nettest.TestFrame
)

// Kinds of frames in a mix.
const (
	DNSUDP4   = nettest.DNSUDP4
	DNSTCP4   = nettest.DNSTCP4
	TCPSyn4   = nettest.TCPSyn4
	ICMP4     = nettest.ICMP4
	UDP4      = nettest.UDP4
	DNSUDP6   = nettest.DNSUDP6
	TCPSyn6   = nettest.TCPSyn6
	ICMP6     = nettest.ICMP6
	VLANDNS4  = nettest.VLANDNS4
	QinQUDP4  = nettest.QinQUDP4
	Broadcast = nettest.Broadcast
)

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) { nettest.RequireRoot(t) }

// NewVeth creates two namespaces joined by a veth pair, removed at cleanup.
func NewVeth(t testing.TB, cfg VethConfig) *Veth { return nettest.NewVeth(t, cfg) }

// Mix synthesizes n distinct frames cycling through every kind.
func Mix(n int, src, dst net.HardwareAddr) []TestFrame { return nettest.Mix(n, src, dst) }

// Kinds lists every kind a mix cycles through.
func Kinds() []Kind { return nettest.Kinds() }
