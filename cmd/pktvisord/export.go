package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/export"
)

// startExports starts the OTLP push (--otel) and Prometheus remote write
// (--remote-write) the options ask for, registering their own counters on
// reg (served with /metrics); stop ends them and waits, and may be called
// more than once.
func startExports(ctx context.Context, o *options, a *agent.Agent, reg prometheus.Registerer, log *slog.Logger) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var waits []func()
	stop = sync.OnceFunc(func() {
		cancel()
		for _, w := range waits {
			w()
		}
	})
	defer func() {
		if err != nil {
			stop()
		}
	}()
	// The instance label identifies the node in a fleet; without
	// --prom-instance the host name is used so series never collide.
	instance := o.promInstance
	if instance == "" {
		instance, _ = os.Hostname()
	}
	src := &export.AgentSource{Agent: a, Instance: instance}
	if o.otel {
		cfg := export.OTLPConfig{
			Host: o.otelHost, Port: o.otelPort, Path: o.otelPath,
			Interval: time.Duration(o.otelInterval) * time.Second,
			TLS:      o.otelTLS,
			Resource: map[string]string{"host.name": instance},
			OnError:  func(err error) { log.Warn("otlp push failed", "err", err) },
		}
		if cfg.TLSConfig, err = otelTLSConfig(o); err != nil {
			return stop, err
		}
		p, err := export.StartOTLP(ctx, cfg, src)
		if err != nil {
			return stop, fmt.Errorf("--otel: %w", err)
		}
		if err := reg.Register(p); err != nil {
			return stop, fmt.Errorf("register otlp metrics: %w", err)
		}
		waits = append(waits, func() {
			p.Wait()
			st := p.Stats()
			log.Info("OTLP push stopped", "pushes", st.Pushes, "failures", st.Failures)
		})
		log.Info("OTLP push enabled", "endpoint", fmt.Sprintf("%s:%d%s", cfg.Host, cfg.Port, cfg.Path), "interval", cfg.Interval)
	}
	if o.remoteWrite != "" {
		rw, err := export.StartRemoteWrite(ctx, export.RemoteWriteConfig{
			URL:      o.remoteWrite,
			Interval: time.Duration(o.remoteWriteInterval) * time.Second,
			OnError:  func(err error) { log.Warn("remote write failed", "err", err) },
		}, src)
		if err != nil {
			return stop, fmt.Errorf("--remote-write: %w", err)
		}
		if err := reg.Register(rw); err != nil {
			return stop, fmt.Errorf("register remote write metrics: %w", err)
		}
		waits = append(waits, func() {
			rw.Wait()
			st := rw.Stats()
			log.Info("remote write stopped", "sent", st.Sent, "dropped", st.Dropped, "failed_requests", st.Failed, "retries", st.Retries)
		})
		log.Info("Prometheus remote write enabled", "url", o.remoteWrite)
	}
	return stop, nil
}

// otelTLSConfig is the OTLP client's TLS configuration from --otel-tls,
// --otel-tls-cert, --otel-tls-key and --otel-tls-ca: nil (the exporter's
// defaults: system roots, no client certificate) unless one of the files is
// given. Files are loaded here, at start-up, so a bad path, a key that does
// not match or a CA file without certificates fails the start rather than
// every push.
func otelTLSConfig(o *options) (*tls.Config, error) {
	if !o.otelTLS || (o.otelTLSCert == "" && o.otelTLSKey == "" && o.otelTLSCA == "") {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.otelTLSCert != "" || o.otelTLSKey != "" {
		if o.otelTLSCert == "" || o.otelTLSKey == "" {
			return nil, errors.New("--otel-tls-cert and --otel-tls-key must be given together")
		}
		cert, err := tls.LoadX509KeyPair(o.otelTLSCert, o.otelTLSKey)
		if err != nil {
			return nil, fmt.Errorf("--otel-tls-cert %s / --otel-tls-key %s: %w", o.otelTLSCert, o.otelTLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.otelTLSCA != "" {
		// A collector behind a private CA is the usual case inside a
		// network; without this the only way to trust it would be to change
		// the host's trust store for every program.
		b, err := os.ReadFile(o.otelTLSCA)
		if err != nil {
			return nil, fmt.Errorf("--otel-tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--otel-tls-ca %s: no PEM certificate in the file", o.otelTLSCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
