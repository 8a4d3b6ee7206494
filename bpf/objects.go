package bpf

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	classic "golang.org/x/net/bpf"

	"github.com/visorng/visor/bpf/cbpf"
)

// ErrNotSupported is returned on platforms without eBPF.
var ErrNotSupported = ebpf.ErrNotSupported

// core is what the XDP and TC objects share: configuration, counters and
// the optional filter program.
type core struct {
	mu      sync.Mutex // serializes config read-modify-write
	cfg     *ebpf.Map
	stats   *ebpf.Map
	conf    xdpConfig
	filter  *ebpf.Program
	slots   [][]Counters // reused per-CPU buffers for Counters
	filterd bool
}

// Counters reads and sums the kernel counters.
func (c *core) Counters() (Totals, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		c.slots = make([][]Counters, 2*dirCount)
	}
	for i := range c.slots {
		if err := c.stats.Lookup(uint32(i), &c.slots[i]); err != nil {
			return Totals{}, fmt.Errorf("read counters slot %d: %w", i, err)
		}
	}
	return parseTotals(c.slots, c.filterd)
}

// SetSampleRate changes the percentage of flows delivered to user space
// while the programs run. 0 stops delivery (counting goes on); 100 delivers
// every packet.
func (c *core) SetSampleRate(percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("%w: sample rate %d", ErrInvalidOptions, percent)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.conf
	next.SampleRate = uint32(percent)
	if err := c.cfg.Put(uint32(0), next); err != nil {
		return fmt.Errorf("update sample rate: %w", err)
	}
	c.conf = next
	return nil
}

// setup writes the host set, DNS ports, filter and config into freshly
// loaded maps. The config goes last: until then the programs see flags 0.
func (c *core) setup(o Options, conf xdpConfig, m mapSet, filterTarget filterTarget) error {
	c.cfg, c.stats, c.conf = m.cfg, m.stats, conf
	v4, v6, err := splitHostNets(o.HostNets)
	if err != nil {
		return err
	}
	one := uint8(1)
	for _, k := range v4 {
		if err := m.hostV4.Put(k, one); err != nil {
			return fmt.Errorf("add host net: %w", err)
		}
	}
	for _, k := range v6 {
		if err := m.hostV6.Put(k, one); err != nil {
			return fmt.Errorf("add host net: %w", err)
		}
	}
	for _, p := range o.ExtraDNSPorts {
		if err := m.dnsPorts.Put(p, one); err != nil {
			return fmt.Errorf("add DNS port %d: %w", p, err)
		}
	}
	if len(o.Filter) > 0 {
		prog, err := loadFilter(o.Filter, filterTarget, m)
		if err != nil {
			return err
		}
		c.filter, c.filterd = prog, true
		if err := m.progs.Put(uint32(progDeliver), filterTarget.deliver); err != nil {
			return fmt.Errorf("install deliver program: %w", err)
		}
		if err := m.progs.Put(uint32(progFilter), prog); err != nil {
			return fmt.Errorf("install filter program: %w", err)
		}
	}
	if err := m.cfg.Put(uint32(0), conf); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

func (c *core) close() error {
	if c.filter != nil {
		return c.filter.Close()
	}
	return nil
}

type mapSet struct {
	cfg, stats, scratch, hostV4, hostV6, dnsPorts, progs *ebpf.Map
}

// filterTarget says how to build the filter program for one hook type.
type filterTarget struct {
	typ     ebpf.ProgramType
	attach  ebpf.AttachType
	access  cbpf.Access
	failRet int32 // verdict when the deliver program cannot be tail-called
	deliver *ebpf.Program
	frags   bool // XDP multi-buffer: must match the programs it tail-calls
}

// loadFilter translates the classic filter and appends the hand-off to the
// deliver program: store the verdict in scratch, tail-call progs[deliver];
// should that fail, count an internal error (slot 0) and return failRet.
func loadFilter(prog []classic.Instruction, t filterTarget, m mapSet) (*ebpf.Program, error) {
	verdictOff := int16(unsafe.Offsetof(xdpMeta{}.Verdict))
	internalOff := int16(unsafe.Offsetof(Counters{}.InternalError))
	epilogue := asm.Instructions{
		asm.Mov.Reg(asm.R9, cbpf.RegResult),
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, m.scratch.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "filter_fail"),
		asm.StoreMem(asm.R0, verdictOff, asm.R9, asm.Word),
		asm.Mov.Reg(asm.R1, cbpf.RegCtx),
		asm.LoadMapPtr(asm.R2, m.progs.FD()),
		asm.Mov.Imm(asm.R3, progDeliver),
		asm.FnTailCall.Call(),
		asm.StoreImm(asm.R10, -4, 0, asm.Word).WithSymbol("filter_fail"),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, m.stats.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "filter_out"),
		asm.LoadMem(asm.R1, asm.R0, internalOff, asm.DWord),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, internalOff, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, t.failRet).WithSymbol("filter_out"),
		asm.Return(),
	}
	insns, err := cbpf.Translate(prog, cbpf.Options{Access: t.access, Epilogue: epilogue})
	if err != nil {
		return nil, fmt.Errorf("translate filter: %w", err)
	}
	var flags uint32
	if t.frags {
		flags = xdpHasFrags
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "visor_filter",
		Flags:        flags,
		Type:         t.typ,
		AttachType:   t.attach,
		Instructions: insns,
		License:      "Dual BSD/GPL",
	})
	if err != nil {
		return nil, fmt.Errorf("load filter program: %w", err)
	}
	return p, nil
}

// XDPObjects are the loaded XDP programs and maps. Attach Program() to the
// capture interface and bind one AF_XDP socket per RX queue into XSKMap().
type XDPObjects struct {
	core
	objs xdpObjects
}

// Program is the XDP entry point.
func (o *XDPObjects) Program() *ebpf.Program { return o.objs.XdpMain }

// XSKMap maps an RX queue index to its AF_XDP socket.
func (o *XDPObjects) XSKMap() *ebpf.Map { return o.objs.Xsks }

// Close releases the programs and maps. Links made by Attach stay valid
// until closed themselves.
func (o *XDPObjects) Close() error {
	return errors.Join(o.core.close(), o.objs.Close())
}

// XDPMode selects where the XDP program runs.
type XDPMode int

const (
	XDPModeAuto    XDPMode = iota // let the kernel choose (native when the driver supports it)
	XDPModeNative                 // in the driver; fails when the driver lacks XDP
	XDPModeGeneric                // after the skb is built: works everywhere, slower
)

// Attach attaches the XDP program to iface with a BPF link, so the program
// goes away with the process.
func (o *XDPObjects) Attach(iface string, mode XDPMode) (link.Link, error) {
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("attach xdp to %s: %w", iface, err)
	}
	var flags link.XDPAttachFlags
	switch mode {
	case XDPModeNative:
		flags = link.XDPDriverMode
	case XDPModeGeneric:
		flags = link.XDPGenericMode
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: o.objs.XdpMain, Interface: ifc.Index, Flags: flags})
	if err != nil {
		return nil, fmt.Errorf("attach xdp to %s: %w", iface, err)
	}
	return l, nil
}

// TCObjects are the loaded TC programs and maps. Records of sampled packets
// arrive in Ring(), each a RecordHeader followed by the frame (ParseRecord).
type TCObjects struct {
	core
	objs tcObjects
}

// Ingress is the program for the ingress hook.
func (o *TCObjects) Ingress() *ebpf.Program { return o.objs.TcIngress }

// Egress is the program for the egress hook.
func (o *TCObjects) Egress() *ebpf.Program { return o.objs.TcEgress }

// Ring is the BPF ring buffer of sampled packets.
func (o *TCObjects) Ring() *ebpf.Map { return o.objs.Events }

// Close releases the programs and maps.
func (o *TCObjects) Close() error {
	return errors.Join(o.core.close(), o.objs.Close())
}

// Attach attaches the ingress and egress programs to iface with tcx links
// (kernel 6.6+). Neither program ever drops or changes a packet.
func (o *TCObjects) Attach(iface string) (ingress, egress link.Link, err error) {
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, nil, fmt.Errorf("attach tc to %s: %w", iface, err)
	}
	ingress, err = link.AttachTCX(link.TCXOptions{Interface: ifc.Index, Program: o.objs.TcIngress, Attach: ebpf.AttachTCXIngress})
	if err != nil {
		return nil, nil, fmt.Errorf("attach tcx ingress to %s: %w", iface, err)
	}
	egress, err = link.AttachTCX(link.TCXOptions{Interface: ifc.Index, Program: o.objs.TcEgress, Attach: ebpf.AttachTCXEgress})
	if err != nil {
		ingress.Close()
		return nil, nil, fmt.Errorf("attach tcx egress to %s: %w", iface, err)
	}
	return ingress, egress, nil
}
