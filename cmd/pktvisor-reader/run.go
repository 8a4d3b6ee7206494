package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/enrich"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "4.0.0-dev"

const usage = `Usage: pktvisor-reader [options] FILE

Summarise a capture file into pktvisor metrics JSON (stdout).

Options:
  -i INPUT               input type: pcap (default), dnstap, sflow, netflow
  --max-deep-sample N    percentage of events sampled for deep analysis [default: 100]
  --periods P            number of 60 s periods to keep; 1 prints a single summary [default: 5]
  -b BPF                 tcpdump filter expression applied to every packet
  -H HOSTSPEC            comma-separated CIDRs that count as the host (direction)
  --geo-city FILE        MaxMind GeoIP2 City database
  --geo-asn FILE         MaxMind GeoIP2 ISP/ASN database
  -v                     verbose logging to stderr
  --version              print the version and exit
`

type options struct {
	input    string
	deep     int
	periods  int
	bpf      string
	hostSpec string
	geoCity  string
	geoASN   string
	verbose  bool
	version  bool
	file     string
}

// parseArgs accepts options before and after FILE, as pktvisor's docopt
// parser does.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pktvisor-reader", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.input, "i", "pcap", "")
	fs.IntVar(&o.deep, "max-deep-sample", 100, "")
	fs.IntVar(&o.periods, "periods", 5, "")
	fs.StringVar(&o.bpf, "b", "", "")
	fs.StringVar(&o.hostSpec, "H", "", "")
	fs.StringVar(&o.geoCity, "geo-city", "", "")
	fs.StringVar(&o.geoASN, "geo-asn", "", "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.BoolVar(&o.version, "version", false, "")
	help := fs.Bool("h", false, "")
	fs.BoolVar(help, "help", false, "")
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, fmt.Errorf("%w\n%s", err, usage)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *help {
		fmt.Fprint(stderr, usage)
		return o, errHelp
	}
	if o.version {
		return o, nil
	}
	if len(files) != 1 {
		return o, fmt.Errorf("exactly one FILE is required\n%s", usage)
	}
	o.file = files[0]
	o.input = strings.ToLower(o.input)
	if o.periods < 1 || o.periods > 10 {
		return o, fmt.Errorf("--periods must be between 1 and 10, got %d", o.periods)
	}
	if o.deep < 1 || o.deep > 100 {
		return o, fmt.Errorf("--max-deep-sample must be between 1 and 100, got %d", o.deep)
	}
	return o, nil
}

var errHelp = errors.New("help requested")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintln(stdout, Version)
		return nil
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	switch o.input {
	case "pcap", "dnstap", "sflow", "netflow":
	default:
		return fmt.Errorf("input type %q is not supported by this build (supported: pcap, dnstap, sflow, netflow)", o.input)
	}
	hosts, err := input.ParseHostSpec(o.hostSpec)
	if err != nil {
		return fmt.Errorf("-H: %w", err)
	}
	var env handler.Env
	if o.geoCity != "" || o.geoASN != "" {
		geo, err := enrich.OpenGeo(o.geoCity, o.geoASN, 10000)
		if err != nil {
			return err
		}
		defer geo.Close()
		env.Enrich = geo
	}

	if o.input == "dnstap" {
		return runDnstap(ctx, o, env, stdout, log)
	}
	if o.input == "sflow" || o.input == "netflow" {
		return runFlow(ctx, o, env, stdout, log)
	}
	src, err := pcapfile.Open(o.file)
	if err != nil {
		return err
	}
	defer src.Close()
	in, err := input.NewPacketInput(src, input.PacketOptions{Filter: o.bpf, Hosts: hosts, Recorded: true})
	if err != nil {
		return err
	}
	reg := agent.Handlers()
	cfg := handler.Config{
		"recorded_stream":  true,
		"num_periods":      uint64(o.periods),
		"deep_sample_rate": uint64(o.deep),
	}
	var handlers []handler.Handler
	for _, typ := range agent.ReaderHandlers(o.input) {
		h, err := reg.New(typ, "1.0", "reader-"+typ, cfg, env)
		if err != nil {
			return fmt.Errorf("handler %s: %w", typ, err)
		}
		in.Attach(h)
		handlers = append(handlers, h)
	}
	log.Debug("reading", "file", o.file, "input", o.input, "periods", o.periods)
	runErr := in.Run(ctx)
	log.Debug("done", "frames", in.Counters.Frames.Load(), "decode_errors", in.Counters.DecodeErrors.Load(),
		"filtered", in.Counters.Filtered.Load())
	if runErr != nil {
		return runErr
	}
	out, err := summary(handlers, o.periods)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	return enc.Encode(out)
}

// summary renders {"1m": …} for one period, else {"<P>m": merged window}.
func summary(handlers []handler.Handler, periods int) (map[string]any, error) {
	body := map[string]any{}
	for _, h := range handlers {
		if !h.Emits() {
			continue
		}
		var sec map[string]any
		var err error
		if periods == 1 {
			sec, err = handler.SectionJSON(h, 0, false)
		} else {
			sec, err = handler.SectionJSON(h, periods, true)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name(), err)
		}
		body[h.Schema()] = sec
	}
	return map[string]any{fmt.Sprintf("%dm", periods): body}, nil
}
