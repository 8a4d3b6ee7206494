// Package httpapi serves pktvisor's REST API and Prometheus endpoints for an
// agent: app info, legacy default-policy metrics, taps and policies CRUD,
// per-policy bucket/window JSON and Prometheus text. Write routes exist only
// with the admin API, optionally behind a bearer token.
package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/config"
)

// DefaultMaxBody bounds request bodies (a policy document is a few KiB).
const DefaultMaxBody = 1 << 20

// JSONContentType is pktvisor's JSON content type. It is not the registered
// application/json, but clients and Telegraf configs in the field were
// written against it, so it is kept (quirk 15).
const JSONContentType = "text/json"

// Options configure a Server.
type Options struct {
	Agent   *agent.Agent
	Version string
	// AdminAPI registers the write routes (POST/DELETE).
	AdminAPI bool
	// AdminToken, when set, must be presented as "Authorization: Bearer
	// <token>" on every write route.
	AdminToken string
	// PromInstance is the static instance label (--prom-instance).
	PromInstance string
	// MaxBody bounds request bodies (default DefaultMaxBody).
	MaxBody int64
	// Logger receives the access log; nil discards it.
	Logger *slog.Logger
	// Shutdown is called (in its own goroutine) by DELETE /api/v1/server.
	Shutdown func()
	// Now is the wall clock (tests inject one).
	Now func() time.Time
}

// Server is the HTTP API of one agent.
type Server struct {
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	promReg *prometheus.Registry
}

// New builds the server and its routes.
func New(opts Options) *Server {
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log, mux: http.NewServeMux(), promReg: prometheus.NewRegistry()}
	s.promReg.MustRegister(&collector{agent: opts.Agent, instance: opts.PromInstance, defaultOnly: true})
	s.routes()
	return s
}

// Registry is the registry behind /metrics (the default policy).
func (s *Server) Registry() *prometheus.Registry { return s.promReg }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /api/v1/metrics/app", s.app)
	m.HandleFunc("GET /api/v1/metrics/rates", s.rates)
	m.HandleFunc("GET /api/v1/metrics/bucket/{n}", s.legacyMetrics(false))
	m.HandleFunc("GET /api/v1/metrics/window/{n}", s.legacyMetrics(true))
	m.HandleFunc("GET /metrics", s.defaultProm)
	m.HandleFunc("GET /api/v1/taps", s.listTaps)
	m.HandleFunc("GET /api/v1/taps/{name}", s.getTap)
	m.HandleFunc("GET /api/v1/policies", s.listPolicies)
	m.HandleFunc("GET /api/v1/policies/{name}", s.getPolicy)
	m.HandleFunc("GET /api/v1/policies/{name}/metrics/bucket/{n}", s.policyMetrics(false))
	m.HandleFunc("GET /api/v1/policies/{name}/metrics/window/{n}", s.policyMetrics(true))
	m.HandleFunc("GET /api/v1/policies/{name}/metrics/prometheus", s.policyProm)
	if s.opts.AdminAPI {
		m.HandleFunc("POST /api/v1/taps", s.admin(s.createTap))
		m.HandleFunc("DELETE /api/v1/taps/{name}", s.admin(s.deleteTap))
		m.HandleFunc("POST /api/v1/policies", s.admin(s.createPolicy))
		m.HandleFunc("DELETE /api/v1/policies/{name}", s.admin(s.deletePolicy))
		m.HandleFunc("DELETE /api/v1/server", s.admin(s.deleteServer))
	}
}

// ServeHTTP serves the API with pktvisor's access log line.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if !s.opts.AdminAPI && r.Method != http.MethodGet && r.Method != http.MethodHead {
		// pktvisor registers no write routes without the admin API, so
		// they are plain 404s rather than 405s.
		http.NotFound(rec, r)
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	s.log.Info(fmt.Sprintf("REQUEST: %s %s %d", r.Method, r.URL.Path, rec.status))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// admin guards a write route with the bearer token, when one is set.
func (s *Server) admin(next http.HandlerFunc) http.HandlerFunc {
	if s.opts.AdminToken == "" {
		return next
	}
	want := []byte("Bearer " + s.opts.AdminToken)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pktvisord admin"`)
			writeError(w, http.StatusUnauthorized, "admin API requires a valid bearer token")
			return
		}
		next(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	w.Header().Set("Content-Type", JSONContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// statusFor maps an agent or config error to a status code: categories
// first, then pktvisor's "already" rule, then client errors for anything
// wrong with the submitted document.
func statusFor(err error) int {
	var ce *config.Error
	switch {
	case errors.Is(err, config.ErrExists), strings.Contains(err.Error(), "already"):
		return http.StatusConflict
	case errors.Is(err, config.ErrNoTapMatch):
		return http.StatusUnprocessableEntity
	case errors.Is(err, config.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, agent.ErrManaged):
		return http.StatusConflict
	case errors.Is(err, agent.ErrClosed):
		return http.StatusServiceUnavailable
	case errors.As(err, &ce):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
