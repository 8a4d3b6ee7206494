package export

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// OTLPConfig configures the OTLP/HTTP push (pktvisord's --otel* flags).
type OTLPConfig struct {
	Host string
	Port int
	Path string
	// Interval between pushes; pktvisor parses --otel-interval but always
	// pushes every 60 s, visor-ng honours it.
	Interval time.Duration
	// TLS enables HTTPS; TLSConfig (client certificate for --otel-tls-cert
	// and --otel-tls-key, roots) is used when set.
	TLS       bool
	TLSConfig *tls.Config
	// Timeout bounds one push (default 10 s).
	Timeout time.Duration
	// Resource attributes identifying the node (service.name is always
	// "pktvisord"; add host.name, k8s.node.name, ...).
	Resource map[string]string
	// OnError receives each failed push; the caller decides whether to log.
	OnError func(error)
}

// OTLPStats counts pushes.
type OTLPStats struct {
	Pushes, Failures uint64
}

// OTLP pushes snapshots to an OTLP/HTTP receiver until its context ends.
type OTLP struct {
	cfg      OTLPConfig
	src      Source
	exp      *otlpmetrichttp.Exporter
	res      *resource.Resource
	pushes   atomic.Uint64
	failures atomic.Uint64
	done     chan struct{}
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("invalid export configuration")

// StartOTLP validates cfg, then pushes src every cfg.Interval until ctx is
// cancelled; Wait returns after the final push.
func StartOTLP(ctx context.Context, cfg OTLPConfig, src Source) (*OTLP, error) {
	if cfg.Host == "" {
		cfg.Host = "localhost"
	}
	if cfg.Port == 0 {
		cfg.Port = 4318
	}
	if cfg.Path == "" {
		cfg.Path = "/v1/metrics"
	}
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("otel interval %v: %w", cfg.Interval, ErrConfig)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("otel port %d: %w", cfg.Port, ErrConfig)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	opts := []otlpmetrichttp.Option{
		otlpmetrichttp.WithEndpoint(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))),
		otlpmetrichttp.WithURLPath(cfg.Path),
		otlpmetrichttp.WithTimeout(cfg.Timeout),
		// The next interval carries fresher data; a failed push is counted,
		// not retried behind the caller's back.
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
	}
	if !cfg.TLS {
		opts = append(opts, otlpmetrichttp.WithInsecure())
	} else if cfg.TLSConfig != nil {
		opts = append(opts, otlpmetrichttp.WithTLSClientConfig(cfg.TLSConfig))
	}
	exp, err := otlpmetrichttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", "pktvisord")}
	for k, v := range cfg.Resource {
		attrs = append(attrs, attribute.String(k, v))
	}
	o := &OTLP{cfg: cfg, src: src, exp: exp, res: resource.NewSchemaless(attrs...), done: make(chan struct{})}
	go o.loop(ctx)
	return o, nil
}

func (o *OTLP) loop(ctx context.Context) {
	defer close(o.done)
	t := time.NewTicker(o.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), o.cfg.Timeout)
			_ = o.exp.Shutdown(sctx)
			cancel()
			return
		case <-t.C:
			o.PushOnce(ctx)
		}
	}
}

// Wait blocks until the pusher has stopped.
func (o *OTLP) Wait() { <-o.done }

// Stats returns the push counters.
func (o *OTLP) Stats() OTLPStats {
	return OTLPStats{Pushes: o.pushes.Load(), Failures: o.failures.Load()}
}

// PushOnce snapshots and pushes now.
func (o *OTLP) PushOnce(ctx context.Context) {
	err := o.push(ctx)
	if err == nil {
		o.pushes.Add(1)
		return
	}
	if ctx.Err() != nil {
		return // shutting down: not a failure of the receiver
	}
	o.failures.Add(1)
	if o.cfg.OnError != nil {
		o.cfg.OnError(err)
	}
}

func (o *OTLP) push(ctx context.Context) error {
	snap, err := o.src.Snapshot()
	if err != nil && len(snap) == 0 {
		return fmt.Errorf("otlp snapshot: %w", err)
	}
	rm := ToOTLP(o.res, snap, time.Now())
	if err := o.exp.Export(ctx, rm); err != nil {
		return fmt.Errorf("otlp push to %s:%d%s: %w", o.cfg.Host, o.cfg.Port, o.cfg.Path, err)
	}
	return err
}

// ToOTLP maps snapshots to OTLP metric data: one scope per policy named
// "pktvisor/<policy>" with attribute policy_name (pktvisor's layout),
// gauges, summaries and cumulative histograms. The policy label stays off
// the data points, as the scope carries it.
func ToOTLP(res *resource.Resource, snap []PolicyMetrics, now time.Time) *metricdata.ResourceMetrics {
	rm := &metricdata.ResourceMetrics{Resource: res}
	for _, pm := range snap {
		start, end := pm.Start, pm.End
		if end.IsZero() {
			end = now
		}
		if start.IsZero() || start.After(end) {
			start = end
		}
		sm := metricdata.ScopeMetrics{Scope: instrumentation.Scope{
			Name:       "pktvisor/" + pm.Policy,
			Attributes: attribute.NewSet(attribute.String("policy_name", pm.Policy)),
		}}
		idx := map[string]int{}
		for _, p := range pm.Points {
			i, ok := idx[p.Name]
			if !ok {
				i = len(sm.Metrics)
				idx[p.Name] = i
				m := metricdata.Metrics{Name: p.Name, Description: p.Help}
				switch p.Kind {
				case Summary:
					m.Data = metricdata.Summary{}
				case Histogram:
					m.Data = metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality}
				default:
					m.Data = metricdata.Gauge[float64]{}
				}
				sm.Metrics = append(sm.Metrics, m)
			}
			attrs := pointAttrs(p)
			switch d := sm.Metrics[i].Data.(type) {
			case metricdata.Gauge[float64]:
				if p.Kind != Gauge {
					continue // a name reused with another kind: keep the first
				}
				d.DataPoints = append(d.DataPoints, metricdata.DataPoint[float64]{
					Attributes: attrs, StartTime: start, Time: end, Value: p.Value})
				sm.Metrics[i].Data = d
			case metricdata.Summary:
				if p.Kind != Summary {
					continue
				}
				qs := make([]metricdata.QuantileValue, len(p.Quantiles))
				for j, q := range p.Quantiles {
					qs[j] = metricdata.QuantileValue{Quantile: q.Quantile, Value: q.Value}
				}
				d.DataPoints = append(d.DataPoints, metricdata.SummaryDataPoint{
					Attributes: attrs, StartTime: start, Time: end, Count: p.Count, Sum: p.Sum, QuantileValues: qs})
				sm.Metrics[i].Data = d
			case metricdata.Histogram[float64]:
				if p.Kind != Histogram {
					continue
				}
				counts := make([]uint64, len(p.Bounds)+1)
				var prev uint64
				for j, c := range p.Cumulative {
					counts[j] = c - prev
					prev = c
				}
				counts[len(p.Bounds)] = p.Count - prev
				d.DataPoints = append(d.DataPoints, metricdata.HistogramDataPoint[float64]{
					Attributes: attrs, StartTime: start, Time: end, Count: p.Count, Sum: p.Sum,
					Bounds: p.Bounds, BucketCounts: counts})
				sm.Metrics[i].Data = d
			}
		}
		rm.ScopeMetrics = append(rm.ScopeMetrics, sm)
	}
	return rm
}

func pointAttrs(p Point) attribute.Set {
	kv := make([]attribute.KeyValue, 0, len(p.Labels))
	for _, l := range p.Labels {
		if l.Key == "policy" {
			continue
		}
		kv = append(kv, attribute.String(l.Key, l.Value))
	}
	return attribute.NewSet(kv...)
}
