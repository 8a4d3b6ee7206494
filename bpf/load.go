package bpf

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/visorng/visor/bpf/cbpf"
)

// LoadXDP loads the XDP programs and maps and configures them from opts.
// Nothing is attached yet.
func LoadXDP(opts Options) (*XDPObjects, error) {
	if !supported {
		return nil, fmt.Errorf("load xdp: %w", ErrNotSupported)
	}
	conf, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	spec, err := loadXdp()
	if err != nil {
		return nil, fmt.Errorf("load xdp spec: %w", err)
	}
	q := opts.Queues
	if q == 0 {
		q = DefaultQueues
	}
	spec.Maps["xsks"].MaxEntries = q
	if opts.Frags {
		// Programs sharing the progs tail-call map must agree on the flag,
		// so the filter program (loadFilter) gets it too.
		for _, p := range spec.Programs {
			p.Flags |= xdpHasFrags
		}
	}
	o := &XDPObjects{}
	if err := spec.LoadAndAssign(&o.objs, nil); err != nil {
		return nil, fmt.Errorf("load xdp objects: %w", err)
	}
	m := o.objs.xdpMaps
	ms := mapSet{cfg: m.Cfg, stats: m.Stats, scratch: m.Scratch, hostV4: m.HostV4, hostV6: m.HostV6, dnsPorts: m.DnsPorts, progs: m.Progs}
	failRet := int32(conf.XdpDefaultAction)
	target := filterTarget{typ: ebpf.XDP, attach: spec.Programs["xdp_main"].AttachType, access: cbpf.Direct,
		failRet: failRet, deliver: o.objs.XdpDeliver, frags: opts.Frags}
	if err := o.setup(opts, conf, ms, target); err != nil {
		o.Close()
		return nil, fmt.Errorf("configure xdp: %w", err)
	}
	return o, nil
}

// LoadTC loads the TC programs and maps and configures them from opts.
// Nothing is attached yet.
func LoadTC(opts Options) (*TCObjects, error) {
	if !supported {
		return nil, fmt.Errorf("load tc: %w", ErrNotSupported)
	}
	conf, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	spec, err := loadTc()
	if err != nil {
		return nil, fmt.Errorf("load tc spec: %w", err)
	}
	if opts.RingBytes != 0 {
		spec.Maps["events"].MaxEntries = opts.RingBytes
	}
	o := &TCObjects{}
	if err := spec.LoadAndAssign(&o.objs, nil); err != nil {
		return nil, fmt.Errorf("load tc objects: %w", err)
	}
	m := o.objs.tcMaps
	ms := mapSet{cfg: m.Cfg, stats: m.Stats, scratch: m.Scratch, hostV4: m.HostV4, hostV6: m.HostV6, dnsPorts: m.DnsPorts, progs: m.Progs}
	target := filterTarget{typ: ebpf.SchedCLS, attach: spec.Programs["tc_ingress"].AttachType, access: cbpf.SKBLoadBytes,
		failRet: -1 /* TC_ACT_UNSPEC */, deliver: o.objs.TcDeliver}
	if err := o.setup(opts, conf, ms, target); err != nil {
		o.Close()
		return nil, fmt.Errorf("configure tc: %w", err)
	}
	return o, nil
}
