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

pktvisord watches network traffic and telemetry streams, keeps rolling summaries of them (counters, rates,
quantiles, heavy hitters, cardinality) and serves them over a REST API and a Prometheus endpoint.

What it watches is set up with taps (named inputs: an interface, a dnstap socket, a flow listener) and collection
policies (which handlers analyse a tap's stream). Load them from a YAML file with --config, or manage them at run
time through the admin API (--admin-api).

The quick way: give IFACE (an interface name, one of its IP addresses, or "auto" for the busiest Ethernet
interface). That creates a tap and a policy named "default" running the net, dns, dhcp and pcap handlers on it.

Base Options:
  -d                                    Run in the background (systemd is the better way) [default: false]
  -h --help                             Print this help
  -v                                    Log at debug level
  --no-track                            Accepted for compatibility; this agent never phones home
  --version                             Print the version
Web Server Options:
  -l HOST                               Address the web server binds to [default: localhost]
  -p PORT                               Port the web server listens on [default: 10853]
  --tls                                 Serve HTTPS (needs --tls-cert and --tls-key)
  --tls-cert FILE                       TLS certificate (PEM)
  --tls-key FILE                        TLS private key (PEM)
  --admin-api                           Enable the write routes (create/delete taps and policies, stop the server)
                                        [default: false]; without it the API is read-only
  --admin-token-file FILE               Require "Authorization: Bearer <token>" (token read from FILE) on admin routes
  --admin-api-insecure                  Allow the admin API on a non-loopback address without TLS and a token
Geo Enabled Options:
  --geo-city FILE                       MaxMind City database for IP geolocation
  --geo-asn FILE                        MaxMind ASN/ISP database for IP-to-ASN lookups
  --geo-cache-size N                    Entries in each geo lookup cache, 0 disables it [default: 10000]
  --default-geo-city FILE               City database used when --geo-city is not given
  --default-geo-asn FILE                ASN database used when --geo-asn is not given
Configuration:
  --config FILE                         YAML file with options, taps and collection policies
Crashpad:
  --cp-disable                          Accepted; crash reporting is not supported by this agent
  --cp-token TOKEN                      Accepted; crash reporting is not supported by this agent
  --cp-url URL                          Accepted; crash reporting is not supported by this agent
  --cp-custom KEY=VALUE                 Accepted; crash reporting is not supported by this agent
  --cp-path PATH                        Accepted; crash reporting is not supported by this agent
Modules:
  --module-list                         Print the built-in inputs and handlers, then exit
  --module-dir DIR                      Ignored: every module is built in
Logging Options:
  --log-file FILE                       Write the log to FILE (reopened on SIGHUP, for logrotate)
  --syslog                              Write the log to syslog
Prometheus Options:
  --prometheus                          Ignored: the Prometheus endpoint is always on
  --prom-instance ID                    Add the label instance="ID" to every series
OpenTelemetry Options:
  --otel                                Push metrics with OTLP over HTTP
  --otel-host HOST                      OTLP receiver host [default: localhost]
  --otel-port PORT                      OTLP receiver port [default: 4318]
  --otel-path PATH                      OTLP receiver path [default: /v1/metrics]
  --otel-interval S                     Seconds between pushes [default: 60]
  --otel-tls                            Push over HTTPS
  --otel-tls-cert FILE                  Client certificate for OTLP over HTTPS
  --otel-tls-key FILE                   Client key for OTLP over HTTPS
  --otel-tls-ca FILE                    CA certificates (PEM) to trust for the OTLP receiver instead of the
                                        system's (a collector behind a private CA)
  --remote-write URL                    Push every policy's metrics with Prometheus remote write to URL
                                        (Prometheus, Mimir, Thanos Receive, VictoriaMetrics)
  --remote-write-interval S             Seconds between remote-write snapshots [default: 15]
Handler Module Defaults:
  --max-deep-sample N                   Percent of events analysed in depth (1-100) where a policy sets none [default: 100]
  --periods P                           Number of 60 s periods kept in memory (1-10) [default: 5]
pcap Input Module Options: (for the default policy created from IFACE)
  -b BPF                                tcpdump filter expression, e.g. "port 53"
  -H HOSTSPEC                           Comma-separated CIDRs that count as this host (direction in/out), e.g.
                                        "192.0.2.0/24,2001:db8::/64"; an explicit list replaces the interface's own
                                        addresses
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
	otelTLSCert, otelTLSKey, otelTLSCA      string
	otelPort, otelInterval                  int
	remoteWrite                             string
	remoteWriteInterval                     int
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
	fs.StringVar(&o.otelTLSCA, "otel-tls-ca", "", "")
	fs.StringVar(&o.remoteWrite, "remote-write", "", "")
	fs.IntVar(&o.remoteWriteInterval, "remote-write-interval", 15, "")
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
		func() error { return str("otel_tls_ca", "otel-tls-ca", &o.otelTLSCA) },
		func() error { return str("remote_write", "remote-write", &o.remoteWrite) },
		func() error { return integer("remote_write_interval", "remote-write-interval", &o.remoteWriteInterval) },
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
