package afxdp

import (
	"sync/atomic"
	"unsafe"
)

// ring is one single-producer single-consumer AF_XDP ring in shared memory:
// a producer and a consumer index (free-running uint32) and a power-of-two
// array of descriptors. User space consumes the RX ring and produces the
// fill ring. Index updates use atomics: they are the only synchronisation
// with the kernel on the other side.
type ring struct {
	producer *uint32
	consumer *uint32
	flags    *uint32
	descs    unsafe.Pointer
	mask     uint32
	// cached copies of the index the other side owns, refreshed only when
	// the cache says the ring is empty (RX) or full (fill), so the fast
	// path touches no shared cache line the kernel writes.
	cachedProd uint32
	cachedCons uint32
}

func newRing(mem []byte, prodOff, consOff, flagsOff, descOff uint64, size uint32) ring {
	base := unsafe.Pointer(unsafe.SliceData(mem))
	return ring{
		producer: (*uint32)(unsafe.Add(base, prodOff)),
		consumer: (*uint32)(unsafe.Add(base, consOff)),
		flags:    (*uint32)(unsafe.Add(base, flagsOff)),
		descs:    unsafe.Add(base, descOff),
		mask:     size - 1,
	}
}

// rxDesc is struct xdp_desc.
type rxDesc struct {
	addr    uint64
	len     uint32
	options uint32
}

// rxAvailable reports how many descriptors the kernel has produced that we
// have not consumed, reading the shared producer index only when the cache
// is exhausted.
func (r *ring) rxAvailable() uint32 {
	n := r.cachedProd - r.cachedCons
	if n == 0 {
		r.cachedProd = atomic.LoadUint32(r.producer)
		n = r.cachedProd - r.cachedCons
	}
	return n
}

// rxPeek returns the descriptor at the consumer position without releasing
// it; the caller checked rxAvailable.
func (r *ring) rxPeek() rxDesc {
	return *(*rxDesc)(unsafe.Add(r.descs, uintptr(r.cachedCons&r.mask)*unsafe.Sizeof(rxDesc{})))
}

// rxPeekAt returns the descriptor i slots past the consumer position; the
// caller checked that more than i are available.
func (r *ring) rxPeekAt(i uint32) rxDesc {
	return *(*rxDesc)(unsafe.Add(r.descs, uintptr((r.cachedCons+i)&r.mask)*unsafe.Sizeof(rxDesc{})))
}

// rxRelease hands n consumed RX slots back to the kernel.
func (r *ring) rxRelease(n uint32) {
	r.cachedCons += n
	atomic.StoreUint32(r.consumer, r.cachedCons)
}

// rxReleaseLocal consumes n RX slots without telling the kernel yet;
// rxPublish tells it. Batching the shared store keeps the kernel's cache
// line still while a burst is drained.
func (r *ring) rxReleaseLocal(n uint32) { r.cachedCons += n }

func (r *ring) rxPublish() { atomic.StoreUint32(r.consumer, r.cachedCons) }

// fillFree reports how many fill slots are free, refreshing the kernel's
// consumer index when the cache says the ring is full. size is the ring
// size.
func (r *ring) fillFree(size uint32) uint32 {
	free := size - (r.cachedProd - r.cachedCons)
	if free == 0 {
		r.cachedCons = atomic.LoadUint32(r.consumer)
		free = size - (r.cachedProd - r.cachedCons)
	}
	return free
}

// fillPut writes one frame address and publishes it.
func (r *ring) fillPut(addr uint64) {
	r.fillPutLocal(addr)
	r.fillPublish()
}

// fillPutLocal writes one frame address without publishing it; fillPublish
// publishes every address written so far.
func (r *ring) fillPutLocal(addr uint64) {
	*(*uint64)(unsafe.Add(r.descs, uintptr(r.cachedProd&r.mask)*8)) = addr
	r.cachedProd++
}

func (r *ring) fillPublish() { atomic.StoreUint32(r.producer, r.cachedProd) }

// needWakeup says whether the kernel asked to be kicked (poll) before it
// will use new fill entries.
func (r *ring) needWakeup() bool {
	return atomic.LoadUint32(r.flags)&xdpRingNeedWakeup != 0
}

const xdpRingNeedWakeup = 1
