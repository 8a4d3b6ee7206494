package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/visorng/visor/cmd/pktvisor-cli/internal/client"
)

// uiScreen is a running UI on a simulation screen.
type uiScreen struct {
	tcell.SimulationScreen
	c *controller
}

// screenText joins the simulation screen's cells into lines. It reads on
// the UI goroutine: the simulation screen hands out its live cell buffer.
func screenText(s uiScreen) string {
	ch := make(chan string, 1)
	s.c.app.QueueUpdate(func() { ch <- cellText(s) })
	select {
	case txt := <-ch:
		return txt
	case <-time.After(2 * time.Second):
		return ""
	}
}

func cellText(s tcell.SimulationScreen) string {
	cells, w, h := s.GetContents()
	var b strings.Builder
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := cells[y*w+x]
			if len(c.Runes) == 0 {
				b.WriteByte(' ')
				continue
			}
			b.WriteString(string(c.Runes))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// waitScreen polls the screen until every want is shown.
func waitScreen(t *testing.T, s uiScreen, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		txt := screenText(s)
		missing := ""
		for _, w := range want {
			if !strings.Contains(txt, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return txt
		}
		if time.Now().After(deadline) {
			t.Fatalf("screen never showed %q:\n%s", missing, txt)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startUI runs the UI on a 200x60 simulation screen until the test ends.
func startUI(t *testing.T, o options) uiScreen {
	t.Helper()
	sim := tcell.NewSimulationScreen("UTF-8")
	// Built here, not in the goroutine: tview initialises the screen, and
	// the simulation screen's Init is not safe against concurrent reads.
	c := newController(o, sim)
	sim.SetSize(200, 60)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.run(ctx, 50*time.Millisecond) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runScreen: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("UI did not stop")
		}
	})
	return uiScreen{sim, c}
}

func optsFor(t *testing.T, srvURL, policy string) options {
	t.Helper()
	u, err := url.Parse(srvURL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	return options{Options: client.Options{Host: u.Hostname(), Port: port}, policy: policy}
}

// fakeAgent serves golden JSON in pktvisor's shapes. It keeps 3 periods,
// so window 5 is refused with the 425 pktvisor-cli negotiates on.
func fakeAgent(t *testing.T) (*httptest.Server, *[]string) {
	t.Helper()
	win, err := os.ReadFile("testdata/window_default.json")
	if err != nil {
		t.Fatal(err)
	}
	app, err := os.ReadFile("testdata/app.json")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/json")
		switch r.URL.Path {
		case "/api/v1/metrics/app":
			_, _ = w.Write(app)
		case "/api/v1/policies":
			_, _ = w.Write([]byte(`{"default": {}, "edge": {}}`))
		case "/api/v1/policies/default/metrics/window/3":
			_, _ = w.Write(win)
		case "/api/v1/policies/edge/metrics/window/3":
			_, _ = w.Write([]byte(strings.Replace(string(win), `"default"`, `"edge"`, 1)))
		case "/api/v1/policies/default/metrics/window/5", "/api/v1/policies/edge/metrics/window/5":
			w.WriteHeader(http.StatusTooEarly)
			_, _ = w.Write([]byte(`{"error": "invalid metrics period, specify [2, 3]"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error": "policy does not exist"}`))
		}
	}))
	t.Cleanup(srv.Close)
	mu.Lock()
	defer mu.Unlock()
	return srv, &paths
}

func TestScreenShowsPanels(t *testing.T) {
	srv, _ := fakeAgent(t)
	sim := startUI(t, optsFor(t, srv.URL, "default"))
	txt := waitScreen(t, sim,
		"pktvisor-cli (client: "+Version+" | server: 4.0.0-dev) Policy: default",
		"Pkts 1078 | UDP 643 (59.6%) | TCP 382 (35.4%)",
		"Pkt Rates Total 12 live",
		"OS Drops 2",
		"DNS Wire Pkts 629",
		"DNS Xacts 313",
		"NXDOMAIN 11.1% | REFUSED 0.3% of replies",
		"Top QName 2", "Top NX", "Slow Out", "Top DNS UDP Ports", "Top ASN",
		".example.net", "198.51.100.1",
		"default-pcap [af_packet] recv 1078 | os_drops 2 | if_drops 0 | filtered 0 | decode_errors 3 | ring_full_drops 7",
		"pps total          12 ████", // a sparkline once live rates arrive
	)
	if strings.Contains(txt, "HTTP 425") {
		t.Errorf("a negotiable 425 reached the screen:\n%s", txt)
	}
}

func TestScreenSwitchesPolicy(t *testing.T) {
	srv, _ := fakeAgent(t)
	sim := startUI(t, optsFor(t, srv.URL, "default"))
	waitScreen(t, sim, "Policy: default", "DNS Wire Pkts 629")
	sim.InjectKey(tcell.KeyRune, 'p', tcell.ModNone)
	waitScreen(t, sim, "Policy (Enter selects", "edge")
	sim.InjectKey(tcell.KeyDown, 0, tcell.ModNone)
	sim.InjectKey(tcell.KeyEnter, 0, tcell.ModNone)
	txt := waitScreen(t, sim, "Policy: edge", "DNS Wire Pkts 629")
	if strings.Contains(txt, "Policy (Enter selects") {
		t.Errorf("picker still open:\n%s", txt)
	}
}

func TestScreenMissingPolicy(t *testing.T) {
	srv, _ := fakeAgent(t)
	sim := startUI(t, optsFor(t, srv.URL, "nope"))
	waitScreen(t, sim, `Policy "nope" does not exist on `+srv.URL+` — press p to pick another.`)
}

func TestScreenUnreachableAgent(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // nothing listens there any more
	sim := startUI(t, optsFor(t, u, "default"))
	txt := waitScreen(t, sim, "Agent unreachable: nothing listens at "+u)
	if strings.Contains(txt, "dial tcp") {
		t.Errorf("raw error on screen:\n%s", txt)
	}
}

func TestArgs(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"--version"}, &out, &out); err != nil || strings.TrimSpace(out.String()) != Version {
		t.Fatalf("--version: %q %v", out.String(), err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"-h"}, &out, &out); err != nil || !strings.Contains(out.String(), "--tls-noverify") {
		t.Fatalf("-h: %q %v", out.String(), err)
	}
	o, err := parseArgs([]string{"-p", "9000", "-H", "10.0.0.1", "-P", "edge", "--tls", "--tls-noverify"})
	if err != nil || o.Port != 9000 || o.Host != "10.0.0.1" || o.policy != "edge" || !o.TLS || !o.TLSNoVerify {
		t.Fatalf("%+v %v", o, err)
	}
	for _, bad := range [][]string{{"-p", "0"}, {"-p", "x"}, {"extra"}, {"--nope"}} {
		if err := run(context.Background(), bad, &out, &out); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestScreenQuitKey(t *testing.T) {
	srv, _ := fakeAgent(t)
	sim := tcell.NewSimulationScreen("UTF-8")
	c := newController(optsFor(t, srv.URL, "default"), sim)
	sim.SetSize(200, 60)
	done := make(chan error, 1)
	go func() { done <- c.run(context.Background(), 20*time.Millisecond) }()
	waitScreen(t, uiScreen{sim, c}, "DNS Wire Pkts 629")
	sim.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("q did not quit")
	}
}
