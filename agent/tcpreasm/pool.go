package tcpreasm

// bufPool recycles byte buffers in a few size classes. The reassembler runs
// on one goroutine, so a plain free list beats sync.Pool here: no per-Put
// allocation of a pointer, and the number kept is bounded. held counts the
// capacity handed out and not yet returned — the memory the limits bound.
type bufPool struct {
	free [len(bufClasses)][][]byte
	held int
}

// bufClasses: a typical segment, a jumbo/GRO segment, the largest
// length-prefixed message (65535 + 2).
var bufClasses = [...]int{2048, 16384, 65537}

// maxFreePerClass bounds idle memory kept for reuse (≈ 4 MiB + 16 MiB + 64
// MiB worst case); beyond it buffers go back to the garbage collector.
const maxFreePerClass = 1024

// cost is what get(n) adds to held.
func (p *bufPool) cost(n int) int {
	for _, size := range bufClasses {
		if n <= size {
			return size
		}
	}
	return n
}

func (p *bufPool) get(n int) []byte {
	for i, size := range bufClasses {
		if n <= size {
			p.held += size
			if k := len(p.free[i]); k > 0 {
				b := p.free[i][k-1]
				p.free[i][k-1] = nil
				p.free[i] = p.free[i][:k-1]
				return b[:n]
			}
			return make([]byte, n, size)
		}
	}
	p.held += n
	return make([]byte, n)
}

func (p *bufPool) put(b []byte) {
	p.held -= cap(b)
	for i, size := range bufClasses {
		if cap(b) == size {
			if len(p.free[i]) < maxFreePerClass {
				p.free[i] = append(p.free[i], b[:0])
			}
			return
		}
	}
}
