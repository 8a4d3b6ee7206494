package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/config"
	"github.com/visorng/visor/agent/enrich"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/httpapi"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "4.0.0-dev"

// shutdownTimeout bounds how long in-flight requests may finish on stop.
const shutdownTimeout = 5 * time.Second

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	ready := daemonChild()
	if ready != nil {
		// Tell the waiting parent why start-up failed, in one line.
		defer func() {
			if err != nil {
				fmt.Fprintln(ready, strings.ReplaceAll(err.Error(), "\n", " "))
			}
			ready.Close()
		}()
	}
	o, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (see --help)", err)
	}
	if o.version {
		fmt.Fprintln(stdout, Version)
		return nil
	}
	var doc *config.Document
	if o.configFile != "" {
		data, err := os.ReadFile(o.configFile)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		if doc, err = config.Parse(data); err != nil {
			return fmt.Errorf("--config %s: %w", o.configFile, err)
		}
		if err := o.applyFileOptions(doc.Options); err != nil {
			return fmt.Errorf("--config %s: %w", o.configFile, err)
		}
	}
	if err := o.validate(); err != nil {
		return err
	}
	if o.moduleList {
		printModules(stdout)
		return nil
	}
	if o.daemon && ready == nil {
		return daemonize(args)
	}
	return serve(ctx, o, doc, stdout, ready)
}

func printModules(w io.Writer) {
	for _, typ := range sortedInputs() {
		fmt.Fprintf(w, "input: %s 1.0\n", typ)
	}
	for _, k := range agent.Handlers().Keys() {
		fmt.Fprintf(w, "handler: %s %s\n", k.Type, k.Version)
	}
}

func sortedInputs() []string {
	var out []string
	for k := range agent.Inputs() {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// serve builds everything, then starts serving; any error before that
// undoes what was built, so nothing half-starts.
func serve(ctx context.Context, o *options, doc *config.Document, stdout io.Writer, ready *os.File) (err error) {
	log, reopen, closeLog, err := newLogger(o, stdout)
	if err != nil {
		return err
	}
	defer closeLog()
	warnUnsupported(o, log)

	var tlsConfig *tls.Config
	if o.tls {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	token := ""
	if o.adminTokenFile != "" {
		b, err := os.ReadFile(o.adminTokenFile)
		if err != nil {
			return fmt.Errorf("--admin-token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return fmt.Errorf("--admin-token-file %s is empty", o.adminTokenFile)
		}
	}
	if err := httpapi.CheckAdminExposure(o.host, o.adminAPI, o.tls, token != "", o.adminInsecure); err != nil {
		return fmt.Errorf("-l %s: %w", o.host, err)
	}
	// Quirk 11, fixed: pktvisor exits "Nothing to do" even when --config
	// defines policies; here a config with policies is enough to run.
	if o.iface == "" && !o.adminAPI && (doc == nil || len(doc.Policies) == 0) {
		//lint:ignore ST1005 pktvisor's exact message, kept for compatibility
		return errors.New("Nothing to do: specify --admin-api or IFACE.")
	}

	var env handler.Env
	var geoDB *enrich.Geo // reloaded on SIGHUP, so updated databases need no restart
	city, asn := firstOf(o.geoCity, o.defaultGeoCity), firstOf(o.geoASN, o.defaultGeoASN)
	if city != "" || asn != "" {
		geo, err := enrich.OpenGeo(city, asn, o.geoCacheSize)
		if err != nil {
			return fmt.Errorf("geo databases: %w", err)
		}
		defer geo.Close()
		env.Enrich = geo
		geoDB = geo
	}
	if reg := firstOf(o.ianaRegistry, o.defaultRegistry); reg != "" {
		svc, err := enrich.LoadServicesFile(reg)
		if err != nil {
			return fmt.Errorf("service port registry: %w", err)
		}
		env.Services = svc
		log.Info("service port registry loaded", "file", reg, "entries", svc.Len())
	}

	addr := net.JoinHostPort(o.host, strconv.Itoa(o.port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web server: %w", err)
	}
	defer ln.Close()

	a := agent.New(agent.Options{Env: env, Periods: o.periods, DeepSample: o.maxDeepSample,
		Logger: log.With("component", "agent")})
	defer a.Close()
	if doc != nil {
		if _, err := a.Apply(doc); err != nil {
			return fmt.Errorf("--config %s: %w", o.configFile, err)
		}
	}
	if o.iface != "" {
		def, missing := defaultDocument(o, agent.Handlers())
		if len(missing) > 0 {
			log.Warn("default policy: handler types not built into this agent", "missing", strings.Join(missing, ","))
		}
		if _, err := a.Apply(def); err != nil {
			return fmt.Errorf("IFACE %s: %w", o.iface, err)
		}
	}

	stopServer := make(chan struct{}, 1)
	api := httpapi.New(httpapi.Options{
		Agent: a, Version: Version, AdminAPI: o.adminAPI, AdminToken: token, PromInstance: o.promInstance,
		Logger: log.With("component", "http"),
		Shutdown: func() {
			select {
			case stopServer <- struct{}{}:
			default:
			}
		},
	})
	srv := &http.Server{
		Handler:           api,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			served <- srv.ServeTLS(ln, "", "")
			return
		}
		served <- srv.Serve(ln)
	}()
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	log.Info("web server listening", "addr", ln.Addr().String(), "scheme", scheme, "admin_api", o.adminAPI)
	stopExports, err := startExports(ctx, o, a, api.Registry(), log.With("component", "export"))
	if err != nil {
		_ = srv.Close()
		return err
	}
	defer stopExports()
	if ready != nil {
		fmt.Fprintln(ready, "ok")
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			if reopen != nil {
				if err := reopen(); err != nil {
					log.Error("reopen log file", "err", err)
				}
			}
			if geoDB != nil {
				if err := geoDB.Reload(); err != nil {
					log.Error("reload geo databases (keeping the loaded ones)", "err", err)
				} else {
					log.Info("geo databases reloaded")
				}
			}
			continue
		case err := <-served:
			if !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("web server: %w", err)
			}
		case <-stopServer:
			log.Info("stopping: DELETE /api/v1/server")
		case <-ctx.Done():
			log.Info("stopping: signal")
		}
		break
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("web server shutdown", "err", err)
	}
	stopExports()
	a.Close()
	log.Info("stopped")
	return nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func warnUnsupported(o *options, log *slog.Logger) {
	if o.cpDisable || o.cpToken != "" || o.cpURL != "" || o.cpCustom != "" || o.cpPath != "" {
		log.Warn("crash reporting (Crashpad) is not supported by this agent; --cp-* options are ignored")
	}
	if o.moduleDir != "" {
		log.Warn("--module-dir is deprecated and ignored: modules are built in")
	}
}

// defaultModules are the IFACE default policy's modules: id and type.
var defaultModules = [][2]string{{"net", "net"}, {"dhcp", "dhcp"}, {"dns", "dns"}, {"pcap_stats", "pcap"}}

// defaultDocument is the tap and policy pktvisord creates for IFACE
// (compat §5), leaving out module types this build lacks.
func defaultDocument(o *options, reg *handler.Registry) (*config.Document, []string) {
	tapCfg := handler.Config{"iface": o.iface}
	if o.hostSpec != "" {
		tapCfg["host_spec"] = o.hostSpec
	}
	inCfg := handler.Config{}
	if o.bpf != "" {
		inCfg["bpf"] = o.bpf
	}
	var mods []config.Module
	var missing []string
	for _, m := range defaultModules {
		if _, ok := reg.Lookup(m[1], "1.0"); !ok {
			missing = append(missing, m[1])
			continue
		}
		mods = append(mods, config.Module{ID: m[0], Type: m[1], Version: "1.0"})
	}
	return &config.Document{
		Taps: []config.Tap{{Name: "default", InputType: "pcap", Config: tapCfg, Tags: handler.Config{}}},
		Policies: []config.Policy{{
			Name: "default", Kind: "collection",
			Input:   config.Input{Tap: "default", InputType: "pcap", Config: inCfg},
			Modules: mods,
		}},
	}, missing
}
