package sketches

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dist names a value distribution; gen draws from it.
type dist struct {
	name string
	gen  func(r *rand.Rand) float64
}

// zipfGen draws ranks 1..imax with P(k) ∝ k^-s.
func zipfGen(s float64, imax uint64) func(r *rand.Rand) float64 {
	// rand/v2 has no Zipf; invert the continuous CDF of the bounded Pareto
	// and floor it, which is a discrete power law with exponent s.
	a := 1 - s
	lo, hi := 1.0, math.Pow(float64(imax)+1, a)
	return func(r *rand.Rand) float64 {
		return math.Floor(math.Pow(lo+r.Float64()*(hi-lo), 1/a))
	}
}

var valueDists = []dist{
	{"uniform", func(r *rand.Rand) float64 { return r.Float64() * 1000 }},
	{"zipf1.1", zipfGen(1.1, 1<<20)},
	{"zipf1.5", zipfGen(1.5, 1<<20)},
	{"exponential", func(r *rand.Rand) float64 { return r.ExpFloat64() * 250 }},
	{"lognormal", func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()*2 + 3) }},
	{"normal-signed", func(r *rand.Rand) float64 { return r.NormFloat64() * 100 }},
	{"tiny-and-huge", func(r *rand.Rand) float64 {
		if r.IntN(2) == 0 {
			return 1e-6 * (1 + r.Float64())
		}
		return 1e9 * (1 + r.Float64())
	}},
	{"all-equal", func(*rand.Rand) float64 { return 42.5 }},
	{"zeros", func(*rand.Rand) float64 { return 0 }},
}

var sizes = []int{1, 100, 10_000, 1_000_000}

func sizesFor(t testing.TB) []int {
	if testing.Short() {
		return sizes[:3]
	}
	return sizes
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// partition splits xs into k contiguous parts (some possibly empty).
func partition[T any](xs []T, k int) [][]T {
	out := make([][]T, k)
	for i := range k {
		out[i] = xs[i*len(xs)/k : (i+1)*len(xs)/k]
	}
	return out
}
