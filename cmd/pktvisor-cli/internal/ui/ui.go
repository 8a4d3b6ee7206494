// Package ui draws pktvisor-cli's screen from a model.View with tview. It
// holds no metrics logic: everything shown is computed by the model, so the
// screen tests only check that the view reaches the cells.
package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/visorng/visor/cmd/pktvisor-cli/internal/model"
)

// tablesPerRow is how many top tables share one row of the screen.
const tablesPerRow = 5

// UI is the screen.
type UI struct {
	app     *tview.Application
	pages   *tview.Pages
	status  *tview.TextView
	header  *tview.TextView
	capture *tview.TextView
	tables  *tview.Flex
	root    *tview.Flex
	nTables int
	current string
	boxes   []*tview.TextView

	// PickPolicy is called (from the UI goroutine) when the operator asks
	// to switch policy; it must not block — fetch the list elsewhere and
	// call ShowPolicies.
	PickPolicy func()
	// OnPolicy is called with the policy the operator chose.
	OnPolicy func(name string)
	// OnQuit is called when the operator quits; the owner stops the
	// application once its pollers are done.
	OnQuit func()
}

// New builds the screen on app.
func New(app *tview.Application) *UI {
	u := &UI{app: app}
	u.status = tview.NewTextView().SetDynamicColors(true)
	u.header = tview.NewTextView().SetDynamicColors(false)
	u.header.SetBorder(true).SetTitle(" pktvisor-cli ")
	u.capture = tview.NewTextView()
	u.capture.SetBorder(true).SetTitle(" Capture ")
	u.tables = tview.NewFlex().SetDirection(tview.FlexRow)
	help := tview.NewTextView().SetText("q quit · p switch policy")
	root := tview.NewFlex().SetDirection(tview.FlexRow)
	u.root = root
	root.
		AddItem(u.status, 1, 0, false).
		AddItem(u.header, 9, 0, false).
		AddItem(u.capture, 7, 0, false).
		AddItem(u.tables, 0, 1, false).
		AddItem(help, 1, 0, false)
	u.pages = tview.NewPages().AddPage("main", root, true, true)
	app.SetRoot(u.pages, true)
	app.SetInputCapture(u.key)
	return u
}

func (u *UI) key(ev *tcell.EventKey) *tcell.EventKey {
	if u.pages.HasPage("policies") {
		if ev.Key() == tcell.KeyEscape {
			u.pages.RemovePage("policies")
			return nil
		}
		return ev
	}
	switch {
	case ev.Key() == tcell.KeyCtrlC, ev.Rune() == 'q':
		if u.OnQuit != nil {
			u.OnQuit()
		} else {
			u.app.Stop()
		}
		return nil
	case ev.Rune() == 'p':
		if u.PickPolicy != nil {
			u.PickPolicy()
		}
		return nil
	}
	return ev
}

// SetStatus replaces the status line (empty clears it).
func (u *UI) SetStatus(msg string) {
	if msg == "" {
		u.status.SetText("")
		return
	}
	u.status.SetText("[white:red] " + tview.Escape(msg) + " [-:-]")
}

// ShowPolicies opens the policy picker with the shown policy selected.
func (u *UI) ShowPolicies(names []string) {
	current := u.current
	list := tview.NewList().ShowSecondaryText(false)
	list.SetBorder(true).SetTitle(" Policy (Enter selects, Esc cancels) ")
	for i, n := range names {
		name := n
		list.AddItem(name, "", 0, func() {
			u.pages.RemovePage("policies")
			if u.OnPolicy != nil {
				u.OnPolicy(name)
			}
		})
		if n == current {
			list.SetCurrentItem(i)
		}
	}
	h := min(len(names)+2, 20)
	modal := tview.NewFlex().
		AddItem(nil, 0, 1, false).
		AddItem(tview.NewFlex().SetDirection(tview.FlexRow).
			AddItem(nil, 0, 1, false).
			AddItem(list, h, 0, true).
			AddItem(nil, 0, 1, false), 40, 0, true).
		AddItem(nil, 0, 1, false)
	u.pages.AddPage("policies", modal, true, true)
	u.app.SetFocus(list)
}

// Render shows v. Call it on the UI goroutine (QueueUpdateDraw).
func (u *UI) Render(title, policy string, v model.View) {
	u.current = policy
	u.header.SetTitle(" " + title + " ")
	u.SetStatus(v.Status)
	u.header.SetText(strings.Join(v.Summary, "\n"))
	var cap strings.Builder
	for _, l := range v.Capture {
		cap.WriteString(l)
		cap.WriteByte('\n')
	}
	for _, s := range v.Sparks {
		last := 0.0
		if len(s.Values) > 0 {
			last = s.Values[len(s.Values)-1]
		}
		fmt.Fprintf(&cap, "%-10s %10.0f %s\n", s.Label, last, model.Sparkline(s.Values, 60))
	}
	u.capture.SetText(cap.String())
	// Grow the capture panel with the inputs and sparklines it holds, so a
	// drop counter is never cut off.
	u.root.ResizeItem(u.capture, max(3, len(v.Capture)+len(v.Sparks))+2, 0)
	u.layoutTables(len(v.Tables))
	for i, t := range v.Tables {
		box := u.boxes[i]
		box.SetTitle(" " + t.Title + " ")
		var b strings.Builder
		for _, r := range t.Rows {
			if r.Pct >= 0 {
				fmt.Fprintf(&b, "%-22s %7d %5.1f%%\n", clip(r.Name, 22), r.Estimate, r.Pct)
			} else {
				fmt.Fprintf(&b, "%-22s %7d\n", clip(r.Name, 22), r.Estimate)
			}
		}
		box.SetText(b.String())
	}
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// layoutTables rebuilds the table grid only when the number changes.
func (u *UI) layoutTables(n int) {
	if n == u.nTables {
		return
	}
	u.nTables = n
	u.tables.Clear()
	u.boxes = u.boxes[:0]
	var row *tview.Flex
	for i := 0; i < n; i++ {
		if i%tablesPerRow == 0 {
			row = tview.NewFlex()
			u.tables.AddItem(row, 0, 1, false)
		}
		box := tview.NewTextView()
		box.SetBorder(true)
		u.boxes = append(u.boxes, box)
		row.AddItem(box, 0, 1, false)
	}
	// Keep the columns aligned on a partial last row.
	for i := n; i%tablesPerRow != 0; i++ {
		row.AddItem(nil, 0, 1, false)
	}
}
