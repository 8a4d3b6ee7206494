package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/config"
	"github.com/visorng/visor/agent/window"
)

// allPolicies is the path name that selects every policy.
const allPolicies = "__all"

func (s *Server) app(w http.ResponseWriter, _ *http.Request) {
	up := s.opts.Now().Sub(s.opts.Agent.Started()).Minutes()
	inputs := map[string]any{}
	for name, info := range s.opts.Agent.InputInfos() {
		m := info.(map[string]any)
		inputs[name] = map[string]any{"capture": m["capture"], "input": m["input"]}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"app": map[string]any{"version": s.opts.Version, "up_time_min": up},
		// Additive: which capture path each input uses and its drops.
		"inputs": inputs,
	})
}

func (s *Server) rates(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"packets": map[string]any{"in": 0, "out": 0},
		"warning": "deprecated: use 'live' data from /api/v1/metrics/bucket/0 instead",
	})
}

// period parses the {n} path value; a non-number is a 404, as pktvisor's
// route pattern \d+ would not match it.
func period(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.PathValue("n")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || len(v) > 4 {
		http.NotFound(w, r)
		return 0, false
	}
	return n, true
}

// name reads the {name} path value; names outside pktvisor's pattern never
// match a route.
func name(w http.ResponseWriter, r *http.Request) (string, bool) {
	v := r.PathValue("name")
	if v != allPolicies && !config.NameRE.MatchString(v) {
		http.NotFound(w, r)
		return "", false
	}
	return v, true
}

// legacyMetrics serves pktvisor 3.0's default-policy routes. Period errors
// are 500 here, as in pktvisor (the policy routes answer 425).
func (s *Server) legacyMetrics(win bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := period(w, r)
		if !ok {
			return
		}
		p, ok := s.opts.Agent.Policy("default")
		if !ok {
			writeError(w, http.StatusNotFound, `no "default" policy exists`)
			return
		}
		body, err := agent.LegacyJSON(p, n, win)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		key := "1m"
		if win {
			key = fmt.Sprintf("%dm", n)
		}
		writeJSON(w, http.StatusOK, map[string]any{key: body})
	}
}

func (s *Server) policyMetrics(win bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pname, ok := name(w, r)
		if !ok {
			return
		}
		n, ok := period(w, r)
		if !ok {
			return
		}
		out := map[string]any{}
		if pname == allPolicies {
			for _, p := range s.opts.Agent.Policies() {
				body, err := agent.PolicyJSON(p, n, win)
				if errors.Is(err, window.ErrPeriod) {
					continue // pktvisor omits policies whose period is invalid
				}
				if err != nil {
					writeError(w, http.StatusInternalServerError, err.Error())
					return
				}
				out[p.Name()] = body
			}
			writeJSON(w, http.StatusOK, out)
			return
		}
		p, ok := s.opts.Agent.Policy(pname)
		if !ok {
			writeError(w, http.StatusNotFound, "policy does not exist")
			return
		}
		body, err := agent.PolicyJSON(p, n, win)
		switch {
		case errors.Is(err, window.ErrPeriod):
			writeError(w, http.StatusTooEarly, err.Error())
			return
		case err != nil:
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		out[p.Name()] = body
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) listTaps(w http.ResponseWriter, _ *http.Request) {
	out := map[string]any{}
	for _, t := range s.opts.Agent.Taps() {
		out[t.Name] = agent.TapInfo(t)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getTap(w http.ResponseWriter, r *http.Request) {
	n, ok := name(w, r)
	if !ok {
		return
	}
	t, ok := s.opts.Agent.Tap(n)
	if !ok {
		writeError(w, http.StatusNotFound, "tap does not exists")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{t.Name: agent.TapInfo(t)})
}

func (s *Server) listPolicies(w http.ResponseWriter, _ *http.Request) {
	out := map[string]any{}
	for _, p := range s.opts.Agent.Policies() {
		out[p.Name()] = s.opts.Agent.PolicyInfo(p)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	n, ok := name(w, r)
	if !ok {
		return
	}
	p, ok := s.opts.Agent.Policy(n)
	if !ok {
		writeError(w, http.StatusNotFound, "policy does not exists")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{p.Name(): s.opts.Agent.PolicyInfo(p)})
}

// readDocument checks the content type, bounds the body and parses it.
// YAML is a superset of JSON, so one parser serves both types.
func (s *Server) readDocument(w http.ResponseWriter, r *http.Request) (*config.Document, bool) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		writeError(w, http.StatusBadRequest, "must include Content-Type header")
		return nil, false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-yaml" && mt != "application/json" {
		writeError(w, http.StatusBadRequest, "Content-Type not supported")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return nil, false
	}
	doc, err := config.Parse(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return doc, true
}

func (s *Server) createTap(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.readDocument(w, r)
	if !ok {
		return
	}
	if len(doc.Taps) != 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("only a single tap expected but got %d", len(doc.Taps)))
		return
	}
	if doc.HasPolicies || doc.Options != nil || doc.GlobalHandlerConfig != nil {
		writeError(w, http.StatusBadRequest, "only visor.taps may be given when creating a tap")
		return
	}
	res, err := s.opts.Agent.Apply(&config.Document{Taps: doc.Taps})
	if err != nil {
		writeError(w, statusFor(err), err.Error())
		return
	}
	out := map[string]any{}
	for _, n := range res.Taps {
		if t, ok := s.opts.Agent.Tap(n); ok {
			out[n] = agent.TapInfo(t)
		}
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) deleteTap(w http.ResponseWriter, r *http.Request) {
	n, ok := name(w, r)
	if !ok {
		return
	}
	if err := s.opts.Agent.RemoveTap(n); err != nil {
		writeError(w, statusFor(err), errText(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.readDocument(w, r)
	if !ok {
		return
	}
	if len(doc.Policies) != 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("only a single policy expected but got %d", len(doc.Policies)))
		return
	}
	if doc.HasTaps || doc.Options != nil || doc.GlobalHandlerConfig != nil {
		writeError(w, http.StatusBadRequest, "only visor.policies may be given when creating a policy")
		return
	}
	res, err := s.opts.Agent.Apply(&config.Document{Policies: doc.Policies})
	if err != nil {
		writeError(w, statusFor(err), err.Error())
		return
	}
	out := map[string]any{}
	for _, n := range res.Policies {
		if p, ok := s.opts.Agent.Policy(n); ok {
			out[n] = s.opts.Agent.PolicyInfo(p)
		}
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) {
	n, ok := name(w, r)
	if !ok {
		return
	}
	if err := s.opts.Agent.RemovePolicy(n); err != nil {
		writeError(w, statusFor(err), errText(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) deleteServer(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
	if s.opts.Shutdown != nil {
		go s.opts.Shutdown()
	}
}

// errText strips the category suffix from not-found errors so the body is
// pktvisor's message.
func errText(err error) string {
	if errors.Is(err, config.ErrNotFound) {
		msg := err.Error()
		return msg[:len(msg)-len(": "+config.ErrNotFound.Error())]
	}
	return err.Error()
}
