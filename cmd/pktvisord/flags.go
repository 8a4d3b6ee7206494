package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/visorng/visor/agent/handler"
)

const usage = `Usage:
  pktvisord [options] [IFACE]
  pktvisord (-h | --help)
  pktvisord --version

pktvisord summarizes data streams and exposes a REST API control plane for configuration and metrics.

pktvisord operation is configured via Taps and Collection Policies. Taps abstract the process of "tapping into"
input streams with templated configuration while Policies use Taps to instantiate and configure Input and Stream
Handlers to analyze and summarize stream data, which is then made available for collection via REST API.

Taps and Collection Policies may be created by passing the appropriate YAML configuration file to --config,
and/or by enabling the admin REST API with --admin-api and using the appropriate endpoints.

Alternatively, for simple use cases you may specify IFACE, which is either a network interface, an IP address
(4 or 6), or "auto". If this is specified, "default" Tap and Collection Policies will be created which pass
packets from the specified interface to the net, dns, dhcp and pcap handlers. If "auto" is specified, the
most used ethernet interface will be chosen.

Base Options:
  -d                                    Daemonize; fork and continue running in the background [default: false]
                                        (prefer running under systemd)
  -h --help                             Show this screen
  -v                                    Verbose log output
  --no-track                            Accepted for compatibility; this agent sends no usage pings
  --version                             Show version
Web Server Options:
  -l HOST                               Run web server on the given host or IP [default: localhost]
  -p PORT                               Run web server on the given port [default: 10853]
  --tls                                 Enable TLS on the web server
  --tls-cert FILE                       Use given TLS cert. Required if --tls is enabled.
  --tls-key FILE                        Use given TLS private key. Required if --tls is enabled.
  --admin-api                           Enable admin REST API giving complete control plane functionality [default: false]
                                        When not specified, the exposed API is read-only access to module status and metrics.
                                        When specified, write access is enabled for all modules.
  --admin-token-file FILE               Require "Authorization: Bearer <token>" (token read from FILE) on admin routes
  --admin-api-insecure                  Allow the admin API on a non-loopback address without TLS and a token
Geo Enabled Options:
  --geo-city FILE                       GeoLite2 City database to use for IP to Geo mapping
  --geo-asn FILE                        GeoLite2 ASN database to use for IP to ASN mapping
  --geo-cache-size N                    GeoLite2 LRU cache size, 0 to disable [default: 10000]
  --default-geo-city FILE               Default GeoLite2 City database to be loaded if no other is specified
  --default-geo-asn FILE                Default GeoLite2 ASN database to be loaded if no other is specified
Configuration:
  --config FILE                         Use specified YAML configuration to configure options, Taps, and Collection Policies
                                        Please see https://pktvisor.dev for more information
Crashpad:
  --cp-disable                          Accepted; crash reporting is not supported by this agent
  --cp-token TOKEN                      Accepted; crash reporting is not supported by this agent
  --cp-url URL                          Accepted; crash reporting is not supported by this agent
  --cp-custom KEY=VALUE                 Accepted; crash reporting is not supported by this agent
  --cp-path PATH                        Accepted; crash reporting is not supported by this agent
Modules:
  --module-list                         List all modules which have been loaded (builtin and dynamic).
  --module-dir DIR                      Deprecated no-op: modules are built in
Logging Options:
  --log-file FILE                       Log to the given output file name (reopened on SIGHUP)
  --syslog                              Log to syslog
Prometheus Options:
  --prometheus                          Ignored, Prometheus output always enabled (left for backwards compatibility)
  --prom-instance ID                    Optionally set the 'instance' label to given ID
OpenTelemetry Options:
  --otel                                Enable OpenTelemetry OTLP exporter over HTTP (not supported yet)
  --otel-host HOST                      Define OpenTelemetry export host [default: localhost]
  --otel-port PORT                      Define OpenTelemetry export port [default: 4318]
  --otel-path PATH                      Define OpenTelemetry export path [default: /v1/metrics]
  --otel-interval S                     Interval in seconds between OpenTelemetry exports [default: 60]
  --otel-tls                            Use TLS for OpenTelemetry exports
  --otel-tls-cert FILE                  TLS certificate for OpenTelemetry exports
  --otel-tls-key FILE                   TLS private key for OpenTelemetry exports
Handler Module Defaults:
  --max-deep-sample N                   Never deep sample more than N% of streams (an int between 0 and 100) [default: 100]
  --periods P                           Hold this many 60 second time periods of history in memory [default: 5]
pcap Input Module Options: (applicable to default policy when IFACE is specified only)
  -b BPF                                Filter packets using the given tcpdump compatible filter expression. Example: "port 53"
  -H HOSTSPEC                           Specify subnets (comma separated) to consider HOST, in CIDR form. In live capture this /may/ be detected automatically
                                        from capture device but /must/ be specified for pcaps. Example: "10.0.1.0/24,10.0.2.1/32,2001:db8::/64"
                                        Specifying this for live capture will append to any automatic detection.
`

// options are pktvisord's settings after flags and the config file.
type options struct {
	daemon, verbose, noTrack, version, help bool
	host                                    string
	port                                    int
	tls                                     bool
	tlsCert, tlsKey                         string
	adminAPI, adminInsecure                 bool
	adminTokenFile                          string
	geoCity, geoASN                         string
	defaultGeoCity, defaultGeoASN           string
	geoCacheSize                            int
	configFile                              string
	cpDisable                               bool
	cpToken, cpURL, cpCustom, cpPath        string
	moduleList                              bool
	moduleDir                               string
	logFile                                 string
	syslog                                  bool
	prometheus                              bool
	promInstance                            string
	otel, otelTLS                           bool
	otelHost, otelPath                      string
	otelTLSCert, otelTLSKey                 string
	otelPort, otelInterval                  int
	ianaRegistry, defaultRegistry           string
	maxDeepSample                           int
	periods                                 int
	bpf, hostSpec                           string
	iface                                   string

	// set lists the flags given on the command line (they win over
	// visor.config).
	set map[string]bool
}

var errHelp = errors.New("help requested")

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("pktvisord", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.daemon, "d", false, "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.BoolVar(&o.noTrack, "no-track", false, "")
	fs.BoolVar(&o.version, "version", false, "")
	fs.BoolVar(&o.help, "h", false, "")
	fs.BoolVar(&o.help, "help", false, "")
	fs.StringVar(&o.host, "l", "localhost", "")
	fs.IntVar(&o.port, "p", 10853, "")
	fs.BoolVar(&o.tls, "tls", false, "")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "")
	fs.StringVar(&o.tlsKey, "tls-key", "", "")
	fs.BoolVar(&o.adminAPI, "admin-api", false, "")
	fs.StringVar(&o.adminTokenFile, "admin-token-file", "", "")
	fs.BoolVar(&o.adminInsecure, "admin-api-insecure", false, "")
	fs.StringVar(&o.geoCity, "geo-city", "", "")
	fs.StringVar(&o.geoASN, "geo-asn", "", "")
	fs.IntVar(&o.geoCacheSize, "geo-cache-size", 10000, "")
	fs.StringVar(&o.defaultGeoCity, "default-geo-city", "", "")
	fs.StringVar(&o.defaultGeoASN, "default-geo-asn", "", "")
	fs.StringVar(&o.configFile, "config", "", "")
	fs.BoolVar(&o.cpDisable, "cp-disable", false, "")
	fs.StringVar(&o.cpToken, "cp-token", "", "")
	fs.StringVar(&o.cpURL, "cp-url", "", "")
	fs.StringVar(&o.cpCustom, "cp-custom", "", "")
	fs.StringVar(&o.cpPath, "cp-path", "", "")
	fs.BoolVar(&o.moduleList, "module-list", false, "")
	fs.StringVar(&o.moduleDir, "module-dir", "", "")
	fs.StringVar(&o.logFile, "log-file", "", "")
	fs.BoolVar(&o.syslog, "syslog", false, "")
	fs.BoolVar(&o.prometheus, "prometheus", false, "")
	fs.StringVar(&o.promInstance, "prom-instance", "", "")
	fs.BoolVar(&o.otel, "otel", false, "")
	fs.StringVar(&o.otelHost, "otel-host", "localhost", "")
	fs.IntVar(&o.otelPort, "otel-port", 4318, "")
	fs.StringVar(&o.otelPath, "otel-path", "/v1/metrics", "")
	fs.IntVar(&o.otelInterval, "otel-interval", 60, "")
	fs.BoolVar(&o.otelTLS, "otel-tls", false, "")
	fs.StringVar(&o.otelTLSCert, "otel-tls-cert", "", "")
	fs.StringVar(&o.otelTLSKey, "otel-tls-key", "", "")
	fs.StringVar(&o.ianaRegistry, "iana-service-port-registry", "", "")
	fs.StringVar(&o.defaultRegistry, "default-service-registry", "", "")
	fs.IntVar(&o.maxDeepSample, "max-deep-sample", 100, "")
	fs.IntVar(&o.periods, "periods", 5, "")
	fs.StringVar(&o.bpf, "b", "", "")
	fs.StringVar(&o.hostSpec, "H", "", "")
	return fs
}

// parseArgs accepts options before and after IFACE, as docopt does.
func parseArgs(args []string) (*options, error) {
	o := &options{set: map[string]bool{}}
	fs := newFlagSet(o)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return o, errHelp
			}
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if o.help {
		return o, errHelp
	}
	switch len(pos) {
	case 0:
	case 1:
		o.iface = pos[0]
	default:
		return nil, fmt.Errorf("only one IFACE may be given, got %d: %v", len(pos), pos)
	}
	return o, nil
}

// applyFileOptions fills options not given on the command line from
// visor.config.
func (o *options) applyFileOptions(c handler.Config) error {
	str := func(key, flagName string, dst *string) error {
		if o.set[flagName] || !c.Has(key) {
			return nil
		}
		v, err := c.String(key, "")
		*dst = v
		return err
	}
	boolean := func(key, flagName string, dst *bool) error {
		if o.set[flagName] || !c.Has(key) {
			return nil
		}
		v, err := c.Bool(key, false)
		*dst = v
		return err
	}
	integer := func(key, flagName string, dst *int) error {
		if o.set[flagName] || !c.Has(key) {
			return nil
		}
		v, err := c.Int(key, 0)
		*dst = v
		return err
	}
	for _, f := range []func() error{
		func() error { return boolean("verbose", "v", &o.verbose) },
		func() error { return boolean("daemon", "d", &o.daemon) },
		func() error { return boolean("no_track", "no-track", &o.noTrack) },
		func() error { return integer("max_deep_sample", "max-deep-sample", &o.maxDeepSample) },
		func() error { return integer("periods", "periods", &o.periods) },
		func() error { return boolean("syslog", "syslog", &o.syslog) },
		func() error { return str("log_file", "log-file", &o.logFile) },
		func() error { return boolean("prometheus", "prometheus", &o.prometheus) },
		func() error { return str("prom_instance", "prom-instance", &o.promInstance) },
		func() error { return str("geo_city", "geo-city", &o.geoCity) },
		func() error { return str("geo_asn", "geo-asn", &o.geoASN) },
		func() error { return integer("geo_cache_size", "geo-cache-size", &o.geoCacheSize) },
		func() error { return str("default_geo_city", "default-geo-city", &o.defaultGeoCity) },
		func() error { return str("default_geo_asn", "default-geo-asn", &o.defaultGeoASN) },
		func() error { return str("iana_service_port_registry", "iana-service-port-registry", &o.ianaRegistry) },
		func() error { return str("default_service_registry", "default-service-registry", &o.defaultRegistry) },
		func() error { return boolean("admin_api", "admin-api", &o.adminAPI) },
		func() error { return boolean("tls", "tls", &o.tls) },
		func() error { return integer("port", "p", &o.port) },
		func() error { return str("host", "l", &o.host) },
		func() error { return str("tls_cert", "tls-cert", &o.tlsCert) },
		func() error { return str("tls_key", "tls-key", &o.tlsKey) },
		func() error { return boolean("otel", "otel", &o.otel) },
		func() error { return boolean("otel_tls", "otel-tls", &o.otelTLS) },
		func() error { return str("otel_host", "otel-host", &o.otelHost) },
		func() error { return str("otel_path", "otel-path", &o.otelPath) },
		func() error { return integer("otel_port", "otel-port", &o.otelPort) },
		func() error { return integer("otel_interval", "otel-interval", &o.otelInterval) },
		func() error { return str("otel_tls_cert", "otel-tls-cert", &o.otelTLSCert) },
		func() error { return str("otel_tls_key", "otel-tls-key", &o.otelTLSKey) },
		func() error { return boolean("module_list", "module-list", &o.moduleList) },
		func() error { return str("module_dir", "module-dir", &o.moduleDir) },
		func() error { return boolean("cp_disable", "cp-disable", &o.cpDisable) },
		func() error { return str("cp_token", "cp-token", &o.cpToken) },
		func() error { return str("cp_url", "cp-url", &o.cpURL) },
		func() error { return str("cp_custom", "cp-custom", &o.cpCustom) },
		func() error { return str("cp_path", "cp-path", &o.cpPath) },
	} {
		if err := f(); err != nil {
			return fmt.Errorf("visor.config: %w", err)
		}
	}
	return nil
}

func (o *options) validate() error {
	if o.tls && (o.tlsCert == "" || o.tlsKey == "") {
		return errors.New("you must specify --tls-key and --tls-cert to use --tls")
	}
	if o.port < 0 || o.port > 65535 {
		return fmt.Errorf("-p: invalid port %s", strconv.Itoa(o.port))
	}
	if o.periods < 1 || o.periods > 10 {
		return fmt.Errorf("--periods must be between 1 and 10, got %d", o.periods)
	}
	if o.maxDeepSample < 0 || o.maxDeepSample > 100 {
		return fmt.Errorf("--max-deep-sample must be between 0 and 100, got %d", o.maxDeepSample)
	}
	if o.geoCacheSize < 0 {
		return fmt.Errorf("--geo-cache-size must not be negative, got %d", o.geoCacheSize)
	}
	return nil
}
