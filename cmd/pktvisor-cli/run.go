package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/visorng/visor/cmd/pktvisor-cli/internal/client"
	"github.com/visorng/visor/cmd/pktvisor-cli/internal/model"
	"github.com/visorng/visor/cmd/pktvisor-cli/internal/ui"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "4.0.0-dev"

const usage = `Usage: pktvisor-cli [options]

Terminal view of a pktvisord agent.

Options:
  -p PORT          agent port [default: 10853]
  -H HOST          agent host [default: localhost]
  -P POLICY        policy to show [default: default]
  --tls            use HTTPS
  --tls-noverify   do not verify the agent's certificate
  --version        print the version and exit

Keys: q or Ctrl-C quits, p switches policy.
`

type options struct {
	client.Options
	policy  string
	version bool
}

func parseArgs(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("pktvisor-cli", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&o.Port, "p", 10853, "")
	fs.StringVar(&o.Host, "H", "localhost", "")
	fs.StringVar(&o.policy, "P", "default", "")
	fs.BoolVar(&o.TLS, "tls", false, "")
	fs.BoolVar(&o.TLSNoVerify, "tls-noverify", false, "")
	fs.BoolVar(&o.version, "version", false, "")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.Port <= 0 || o.Port > 65535 {
		return o, fmt.Errorf("invalid port %d", o.Port)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, _ io.Writer) error {
	o, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = io.WriteString(stdout, usage)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w\n%s", err, usage)
	}
	if o.version {
		_, _ = fmt.Fprintln(stdout, Version)
		return nil
	}
	screen, err := tcell.NewScreen()
	if err != nil {
		return fmt.Errorf("open terminal: %w", err)
	}
	return runScreen(ctx, o, screen, time.Second)
}

// runScreen drives the UI on screen until the operator quits or ctx ends.
func runScreen(ctx context.Context, o options, screen tcell.Screen, every time.Duration) error {
	return newController(o, screen).run(ctx, every)
}

// newController builds the UI on screen (initialising it) without
// starting anything.
func newController(o options, screen tcell.Screen) *controller {
	app := tview.NewApplication().SetScreen(screen)
	c := &controller{
		c:      client.New(o.Options),
		policy: o.policy,
		app:    app,
		sw:     make(chan string, 1),
	}
	c.poller.C = c.c
	c.hist.Cap = 60
	c.ui = ui.New(app)
	c.ui.PickPolicy = c.pickPolicy
	c.ui.OnPolicy = func(name string) {
		select {
		case c.sw <- name:
		default: // a switch is already pending; the newest pick is dropped
		}
	}
	return c
}

// run polls every interval and draws until the operator quits or ctx
// ends. The poller stops before the application does: tview's
// QueueUpdateDraw waits for the UI goroutine, so a poller still running
// after Stop would block for ever.
func (c *controller) run(ctx context.Context, every time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.ui.OnQuit = cancel
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.loop(ctx, every)
		c.app.Stop()
	}()
	if err := c.app.Run(); err != nil {
		// The UI never ran; the poller may be stuck queueing a draw, so
		// it is not waited for (the process is about to exit).
		return fmt.Errorf("terminal UI: %w", err)
	}
	cancel()
	<-done
	return nil
}

// controller owns the polling state; only its loop goroutine touches it.
type controller struct {
	c      *client.Client
	poller client.Poller
	hist   model.History
	policy string
	server string
	app    *tview.Application
	ui     *ui.UI
	sw     chan string
	last   model.View
}

func (c *controller) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	c.tick(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-c.sw:
			c.policy = p
			c.poller.Reset()
			c.hist.Reset()
			c.last = model.View{}
			c.tick(ctx)
		case <-t.C:
			c.tick(ctx)
		}
	}
}

func (c *controller) tick(ctx context.Context) {
	v := c.fetch(ctx)
	title := fmt.Sprintf("pktvisor-cli (client: %s | server: %s) Policy: %s", Version, orDash(c.server), c.policy)
	policy := c.policy
	c.app.QueueUpdateDraw(func() { c.ui.Render(title, policy, v) })
}

// fetch builds this tick's view. On an error the previous screen stays
// with the problem on the status line, so a blip does not blank the view.
func (c *controller) fetch(ctx context.Context) model.View {
	var capture []string
	body, err := c.c.App(ctx)
	if err == nil {
		var app model.App
		if app, err = model.ParseApp(body); err == nil {
			c.server = app.Version
			capture = app.Capture
		}
	}
	if err == nil {
		body, err = c.poller.Poll(ctx, c.policy)
	}
	if errors.Is(err, client.ErrRenegotiated) {
		body, err = c.poller.Poll(ctx, c.policy)
	}
	var w *model.Window
	if err == nil {
		w, err = model.ParseWindow(body, c.policy)
	}
	if err != nil {
		v := c.last
		v.Status = model.Problem(err, c.c.Base(), c.policy)
		return v
	}
	c.hist.Observe(w)
	v := model.Derive(w)
	v.Capture = capture
	v.Sparks = c.hist.Sparks()
	if v.Status == "" && model.MajorMismatch(Version, c.server) {
		v.Status = fmt.Sprintf("Server version %s differs in major version from client %s.", c.server, Version)
	}
	c.last = v
	c.last.Status = ""
	return v
}

// pickPolicy runs on the UI goroutine, so the fetch goes elsewhere; it
// reads only the immutable client.
func (c *controller) pickPolicy() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), client.Timeout)
		defer cancel()
		names, err := c.c.Policies(ctx)
		c.app.QueueUpdateDraw(func() {
			if err != nil {
				c.ui.SetStatus(model.Problem(err, c.c.Base(), ""))
				return
			}
			c.ui.ShowPolicies(names)
		})
	}()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
