package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visorng/visor/agent/metrics"
)

// RemoteWriteConfig configures Prometheus remote write (--remote-write).
type RemoteWriteConfig struct {
	URL string
	// Interval between snapshots (default 15 s).
	Interval time.Duration
	// BatchSize is the most series in one request (default 2000).
	BatchSize int
	// QueueSize bounds the series waiting to be sent (default 50000);
	// series that do not fit are dropped and counted.
	QueueSize int
	// MaxRetries per batch on 5xx, 429 and network errors (default 5);
	// backoff doubles from MinBackoff up to MaxBackoff.
	MaxRetries             int
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one request (default 10 s).
	Timeout time.Duration
	// ExternalLabels are added to every series (node identity: instance,
	// node, cluster); they override labels of the same name.
	ExternalLabels []metrics.Label
	// Client sends the requests (default: a client with Timeout).
	Client *http.Client
	// OnError receives each batch given up on.
	OnError func(error)
}

// RemoteWriteStats counts series through the queue.
type RemoteWriteStats struct {
	// Enqueued series, Sent series, Dropped series (queue full or batch
	// given up), Failed requests and Retries.
	Enqueued, Sent, Dropped, Failed, Retries uint64
	// Queued is the number of series waiting now.
	Queued int
}

// Series is one remote-write time series with its single sample.
type Series struct {
	// Labels sorted by name, including __name__.
	Labels []metrics.Label
	Value  float64
	// TimestampMs is the sample time in milliseconds since the epoch.
	TimestampMs int64
}

// RemoteWriter snapshots a Source every interval and sends the series in
// batches through a bounded queue.
type RemoteWriter struct {
	cfg   RemoteWriteConfig
	src   Source
	queue chan Series
	done  chan struct{}
	ctr   struct{ enqueued, sent, dropped, failed, retries atomic.Uint64 }
}

// StartRemoteWrite validates cfg and starts snapshotting and sending until
// ctx is cancelled; Wait returns once both have stopped.
func StartRemoteWrite(ctx context.Context, cfg RemoteWriteConfig, src Source) (*RemoteWriter, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote write URL %q: %w", cfg.URL, ErrConfig)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defD(&cfg.Interval, 15*time.Second)
	def(&cfg.BatchSize, 2000)
	def(&cfg.QueueSize, 50000)
	def(&cfg.MaxRetries, 5)
	defD(&cfg.MinBackoff, 100*time.Millisecond)
	defD(&cfg.MaxBackoff, 5*time.Second)
	defD(&cfg.Timeout, 10*time.Second)
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	rw := &RemoteWriter{cfg: cfg, src: src, queue: make(chan Series, cfg.QueueSize), done: make(chan struct{})}
	snapDone := make(chan struct{})
	go func() {
		defer close(snapDone)
		t := time.NewTicker(cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				rw.Enqueue(rw.snapshot(now))
			}
		}
	}()
	go func() {
		defer close(rw.done)
		rw.send(ctx)
		<-snapDone
	}()
	return rw, nil
}

// Wait blocks until the writer has stopped.
func (rw *RemoteWriter) Wait() { <-rw.done }

// Stats returns the counters.
func (rw *RemoteWriter) Stats() RemoteWriteStats {
	return RemoteWriteStats{
		Enqueued: rw.ctr.enqueued.Load(), Sent: rw.ctr.sent.Load(), Dropped: rw.ctr.dropped.Load(),
		Failed: rw.ctr.failed.Load(), Retries: rw.ctr.retries.Load(), Queued: len(rw.queue),
	}
}

func (rw *RemoteWriter) snapshot(now time.Time) []Series {
	snap, err := rw.src.Snapshot()
	if err != nil && rw.cfg.OnError != nil {
		rw.cfg.OnError(fmt.Errorf("remote write snapshot: %w", err))
	}
	return ToSeries(snap, rw.cfg.ExternalLabels, now)
}

// Enqueue adds series without blocking; what does not fit is dropped and
// counted, so a slow receiver never holds back the agent.
func (rw *RemoteWriter) Enqueue(ss []Series) {
	for _, s := range ss {
		select {
		case rw.queue <- s:
			rw.ctr.enqueued.Add(1)
		default:
			rw.ctr.dropped.Add(1)
		}
	}
}

func (rw *RemoteWriter) send(ctx context.Context) {
	batch := make([]Series, 0, rw.cfg.BatchSize)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case s := <-rw.queue:
			batch = append(batch, s)
		}
	fill:
		for len(batch) < rw.cfg.BatchSize {
			select {
			case s := <-rw.queue:
				batch = append(batch, s)
			default:
				break fill
			}
		}
		if err := rw.sendBatch(ctx, batch); err != nil {
			rw.ctr.dropped.Add(uint64(len(batch)))
			if rw.cfg.OnError != nil && ctx.Err() == nil {
				rw.cfg.OnError(err)
			}
			continue
		}
		rw.ctr.sent.Add(uint64(len(batch)))
	}
}

// errRetryable marks failures worth retrying (network, 5xx, 429).
var errRetryable = errors.New("retryable")

func (rw *RemoteWriter) sendBatch(ctx context.Context, batch []Series) error {
	body := snappy.Encode(nil, EncodeWriteRequest(nil, batch))
	backoff := rw.cfg.MinBackoff
	var err error
	for attempt := 0; attempt <= rw.cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			rw.ctr.retries.Add(1)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, rw.cfg.MaxBackoff)
		}
		err = rw.post(ctx, body)
		if err == nil {
			return nil
		}
		rw.ctr.failed.Add(1)
		if !errors.Is(err, errRetryable) {
			return err
		}
	}
	return fmt.Errorf("remote write: giving up after %d retries: %w", rw.cfg.MaxRetries, err)
}

func (rw *RemoteWriter) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rw.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("remote write request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "pktvisord-visor-ng")
	resp, err := rw.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("remote write POST: %w (%w)", err, errRetryable)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 5, resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("remote write: HTTP %d: %s (%w)", resp.StatusCode, strings.TrimSpace(string(msg)), errRetryable)
	}
	return fmt.Errorf("remote write: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
}

// ToSeries flattens snapshots into remote-write series the way a
// Prometheus scrape of /api/v1/policies/__all/metrics/prometheus would:
// summaries as quantile series plus _sum and _count, histograms as _bucket
// series (with le="+Inf") plus _sum and _count.
func ToSeries(snap []PolicyMetrics, external []metrics.Label, now time.Time) []Series {
	ts := now.UnixMilli()
	var out []Series
	add := func(name string, base []metrics.Label, v float64, extra ...metrics.Label) {
		ls := make([]metrics.Label, 0, len(base)+len(extra)+len(external)+1)
		ls = append(ls, metrics.Label{Key: "__name__", Value: name})
		for _, l := range base {
			if !hasKey(external, l.Key) && !hasKey(extra, l.Key) {
				ls = append(ls, l)
			}
		}
		ls = append(ls, extra...)
		ls = append(ls, external...)
		slices.SortFunc(ls, func(a, b metrics.Label) int { return strings.Compare(a.Key, b.Key) })
		out = append(out, Series{Labels: ls, Value: v, TimestampMs: ts})
	}
	for _, pm := range snap {
		for _, p := range pm.Points {
			switch p.Kind {
			case Gauge:
				add(p.Name, p.Labels, p.Value)
			case Summary:
				for _, q := range p.Quantiles {
					add(p.Name, p.Labels, q.Value, metrics.Label{Key: "quantile", Value: formatFloat(q.Quantile)})
				}
				add(p.Name+"_sum", p.Labels, p.Sum)
				add(p.Name+"_count", p.Labels, float64(p.Count))
			case Histogram:
				for i, b := range p.Bounds {
					add(p.Name+"_bucket", p.Labels, float64(p.Cumulative[i]), metrics.Label{Key: "le", Value: formatFloat(b)})
				}
				add(p.Name+"_bucket", p.Labels, float64(p.Count), metrics.Label{Key: "le", Value: "+Inf"})
				add(p.Name+"_sum", p.Labels, p.Sum)
				add(p.Name+"_count", p.Labels, float64(p.Count))
			}
		}
	}
	return out
}

func hasKey(ls []metrics.Label, k string) bool {
	for _, l := range ls {
		if l.Key == k {
			return true
		}
	}
	return false
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// EncodeWriteRequest appends the protobuf encoding of a remote-write 1.0
// prometheus.WriteRequest holding ss (field numbers from prompb's
// remote.proto and types.proto: WriteRequest.timeseries = 1;
// TimeSeries.labels = 1, samples = 2; Label.name = 1, value = 2;
// Sample.value = 1 (double), timestamp = 2 (int64)).
func EncodeWriteRequest(dst []byte, ss []Series) []byte {
	var ts []byte
	for _, s := range ss {
		ts = ts[:0]
		for _, l := range s.Labels {
			n := protowire.SizeTag(1) + protowire.SizeBytes(len(l.Key)) + protowire.SizeTag(2) + protowire.SizeBytes(len(l.Value))
			ts = protowire.AppendTag(ts, 1, protowire.BytesType)
			ts = protowire.AppendVarint(ts, uint64(n))
			ts = protowire.AppendTag(ts, 1, protowire.BytesType)
			ts = protowire.AppendString(ts, l.Key)
			ts = protowire.AppendTag(ts, 2, protowire.BytesType)
			ts = protowire.AppendString(ts, l.Value)
		}
		sample := protowire.SizeTag(1) + protowire.SizeFixed64() + protowire.SizeTag(2) + protowire.SizeVarint(uint64(s.TimestampMs))
		ts = protowire.AppendTag(ts, 2, protowire.BytesType)
		ts = protowire.AppendVarint(ts, uint64(sample))
		ts = protowire.AppendTag(ts, 1, protowire.Fixed64Type)
		ts = protowire.AppendFixed64(ts, math.Float64bits(s.Value))
		ts = protowire.AppendTag(ts, 2, protowire.VarintType)
		ts = protowire.AppendVarint(ts, uint64(s.TimestampMs))
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendBytes(dst, ts)
	}
	return dst
}
