package netprobe

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/visorng/visor/agent/handler"
)

// TestType is the kind of probe.
type TestType uint8

const (
	TestPing TestType = iota + 1
	TestTCP
)

func (t TestType) String() string {
	switch t {
	case TestPing:
		return "ping"
	case TestTCP:
		return "tcp"
	}
	return "unknown"
}

// Target is one probed destination.
type Target struct {
	Name string
	// Host is an IP literal or a DNS name (re-resolved every interval).
	Host string
	// Addr is set when Host is a literal.
	Addr netip.Addr
	Port uint16
	// IPVersion is 4 or 6 to force a family, 0 for either.
	IPVersion int
}

// Config is the netprobe input's configuration, with pktvisor's defaults.
type Config struct {
	Test            TestType
	Interval        time.Duration
	Timeout         time.Duration
	PacketsPerTest  int
	PacketsInterval time.Duration
	PayloadSize     int
	Targets         []Target // sorted by name
}

// Keys are the accepted config keys, in pktvisor's order.
var Keys = []string{"test_type", "interval_msec", "timeout_msec", "packets_per_test",
	"packets_interval_msec", "packet_payload_size", "targets"}

const maxPayload = 65500

var testTypes = "http, ping, tcp, udp"

// ParseConfig validates cfg (tap config ⊕ policy input config ⊕ filter)
// with pktvisor's rules and error texts.
func ParseConfig(cfg handler.Config) (Config, error) {
	for _, k := range sortedKeys(cfg) {
		if !slices.Contains(Keys, k) {
			return Config{}, fmt.Errorf("%s is an invalid/unsupported config or filter. The valid configs/filters are: %s", k, strings.Join(Keys, ", "))
		}
	}
	c := Config{}
	tt, err := cfg.String("test_type", "")
	if err != nil {
		return c, err
	}
	switch tt {
	case "":
		return c, fmt.Errorf("'test_type' config not specified. The valid test types are: %s", testTypes)
	case "ping":
		c.Test = TestPing
	case "tcp":
		c.Test = TestTCP
	case "http", "udp":
		//lint:ignore ST1005 pktvisor's exact error text, kept for compatibility
		return c, fmt.Errorf("Test type currently not supported")
	default:
		return c, fmt.Errorf("%s is an invalid/unsupported test type. The valid test types are: %s", tt, testTypes)
	}
	msec := func(key string, def uint64) (time.Duration, uint64, error) {
		v, err := cfg.Uint(key, def)
		return time.Duration(v) * time.Millisecond, v, err
	}
	var interval, timeout, perTest, pktInterval, payload uint64
	if c.Interval, interval, err = msec("interval_msec", 5000); err != nil {
		return c, err
	}
	if c.Timeout, timeout, err = msec("timeout_msec", 2000); err != nil {
		return c, err
	}
	if timeout > interval {
		return c, fmt.Errorf("timeout_msec [%d] cannot be greater than interval_msec [%d]", timeout, interval)
	}
	if perTest, err = cfg.Uint("packets_per_test", 1); err != nil {
		return c, err
	}
	if perTest == 0 {
		return c, fmt.Errorf("packets_per_test needs to be greater than 0")
	}
	if c.PacketsInterval, pktInterval, err = msec("packets_interval_msec", 25); err != nil {
		return c, err
	}
	if perTest*pktInterval > interval {
		// The text is pktvisor's, slip included.
		return c, fmt.Errorf("packets_per_test [%d] times packets_interval_msec [%d] cannot be greater than packets_interval_msec [%d]", perTest, pktInterval, interval)
	}
	c.PacketsPerTest = int(perTest)
	if payload, err = cfg.Uint("packet_payload_size", 48); err != nil {
		return c, err
	}
	if payload > maxPayload {
		return c, fmt.Errorf("packet_payload_size was set to %d but max supported size is %d", payload, maxPayload)
	}
	c.PayloadSize = int(payload)
	if c.Interval == 0 {
		return c, fmt.Errorf("interval_msec needs to be greater than 0")
	}

	targets, err := cfg.Map("targets")
	if err != nil {
		return c, err
	}
	if len(targets) == 0 {
		return c, fmt.Errorf("no targets specified")
	}
	for _, name := range sortedKeys(targets) {
		t, err := parseTarget(name, targets[name], c.Test)
		if err != nil {
			return c, err
		}
		c.Targets = append(c.Targets, t)
	}
	return c, nil
}

func parseTarget(name string, v any, test TestType) (Target, error) {
	var m handler.Config
	switch x := v.(type) {
	case handler.Config:
		m = x
	case map[string]any:
		m = x
	default:
		return Target{}, fmt.Errorf("'%s' does not have key 'target' which is required", name)
	}
	t := Target{Name: name}
	if !m.Has("target") {
		return t, fmt.Errorf("'%s' does not have key 'target' which is required", name)
	}
	host, err := m.String("target", "")
	if err != nil {
		return t, err
	}
	t.Host = host
	if m.Has("ip_version") {
		v, err := m.Uint("ip_version", 0)
		if err != nil || (v != 4 && v != 6) {
			return t, fmt.Errorf("ip_version must be 4 or 6")
		}
		t.IPVersion = int(v)
	}
	if test == TestTCP {
		if !m.Has("port") {
			return t, fmt.Errorf("'%s' does not have key 'port' which is required", name)
		}
	}
	if m.Has("port") {
		p, err := m.Uint("port", 0)
		if err != nil || p > 65535 {
			return t, fmt.Errorf("'%s' port must be between 0 and 65535", name)
		}
		t.Port = uint16(p)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		switch {
		case a.Is4() && t.IPVersion == 6:
			return t, fmt.Errorf("target %s is IPv4 but ip_version is set to 6", host)
		case a.Is6() && t.IPVersion == 4:
			return t, fmt.Errorf("target %s is IPv6 but ip_version is set to 4", host)
		}
		t.Addr = a
		return t, nil
	}
	if host != "localhost" && !strings.Contains(host, ".") {
		return t, fmt.Errorf("%s is an invalid/unsupported DNS", host)
	}
	return t, nil
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
