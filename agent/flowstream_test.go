package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/decode"
)

func flowPolicy(tapConfig string) string {
	return `
visor:
  taps:
    border:
      input_type: flow
      config:
` + tapConfig + `
  policies:
    flows:
      kind: collection
      input:
        tap: border
        input_type: flow
      handlers:
        modules:
          f:
            type: flow
`
}

func TestFlowFilePolicy(t *testing.T) {
	a := New(Options{})
	defer a.Close()
	cfg := flowPolicy("        flow_type: netflow\n        pcap_file: " + sharedFixture(t, "nf9.pcap") + "\n")
	if _, err := a.ApplyYAML([]byte(cfg)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitInputs(ctx); err != nil {
		t.Fatal(err)
	}
	p, _ := a.Policy("flows")
	obj, err := PolicyJSON(p, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	devices, _ := dig(obj, "flows-border-f", "flow", "devices").(map[string]any)
	var flows uint64
	for _, d := range devices {
		flows += dig(d, "records_flows").(uint64)
	}
	// tshark's cflow dissector finds 24 data records in nf9.pcap (the
	// options-template data is not flows); see test/testdata/golden/flow.
	if flows != 24 {
		t.Fatalf("records_flows over devices = %d, want 24 (%v)", flows, devices)
	}
}

// payloads reads the UDP payloads of a capture.
func payloads(t *testing.T, path string) [][]byte {
	t.Helper()
	src, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out [][]byte
	var f capture.Frame
	var p decode.Packet
	for {
		err := src.Next(&f)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if decode.Decode(f.LinkType, f.Data, &p) == nil && p.L4 == decode.L4UDP {
			out = append(out, append([]byte(nil), p.Payload...))
		}
	}
}

func TestFlowListenerPolicy(t *testing.T) {
	dgrams := payloads(t, sharedFixture(t, "nf5.pcap"))
	a := New(Options{})
	defer a.Close()
	if _, err := a.ApplyYAML([]byte(flowPolicy("        flow_type: netflow\n        bind: 127.0.0.1\n        port: 0\n        sockets: 1\n"))); err != nil {
		t.Fatal(err)
	}
	var addr string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && addr == ""; time.Sleep(20 * time.Millisecond) {
		for _, info := range a.InputInfos() {
			if l, ok := dig(info, "flow", "listen").(string); ok && !strings.HasSuffix(l, ":0") {
				addr = l
			}
		}
	}
	if addr == "" {
		t.Fatalf("listener never reported its address: %v", a.InputInfos())
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, d := range dgrams {
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	conn.Write([]byte("not a flow datagram"))
	// tshark finds 3 records in the two datagrams of nf5.pcap (golden
	// test/testdata/golden/flow/nf5.json); here they come from 127.0.0.1.
	p, _ := a.Policy("flows")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		obj, err := PolicyJSON(p, 0, false)
		if err != nil {
			continue
		}
		if n, ok := dig(obj, "flows-border-f", "flow", "devices", "127.0.0.1", "records_flows").(uint64); ok && n == 3 {
			for _, info := range a.InputInfos() {
				if e, ok := dig(info, "flow", "packet_errors").(uint64); ok && e != 1 {
					t.Errorf("packet_errors = %d, want 1", e)
				}
			}
			return
		}
	}
	obj, _ := PolicyJSON(p, 0, false)
	t.Fatalf("flows from %d NetFlow v5 datagrams not all counted: %v", len(dgrams), obj)
}

func TestFlowConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		"        flow_type: netflow\n":                     "flow config must specify port and bind",
		"        flow_type: jflow\n        pcap_file: x\n": `invalid flow_type "jflow"`,
		"        bind: 127.0.0.1\n        port: 99999\n":   "port must be at most 65535",
	} {
		a := New(Options{})
		_, err := a.ApplyYAML([]byte(flowPolicy(cfg)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", cfg, err, want)
		}
		a.Close()
	}
}
