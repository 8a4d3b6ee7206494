package window

// Sampler makes pktvisor's per-event deep-sampling decision: a SplitMix64
// stream with a fixed seed, deep when rand%100 < rate. The fixed seed makes
// file runs reproducible. At rate 100 every event is deep.
type Sampler struct {
	rate  uint64
	state uint64
	last  bool
}

const splitMixSeed = 0x9e3779b97f4a7c15

// NewSampler clamps rate to 1..100 (pktvisor's deep_sample_rate range).
func NewSampler(rate int) Sampler {
	return Sampler{rate: uint64(ClampRate(rate)), state: splitMixSeed, last: true}
}

// ClampRate applies the 1..100 clamp; 0 means the default 100.
func ClampRate(rate int) int {
	switch {
	case rate == 0:
		return 100
	case rate < 1:
		return 1
	case rate > 100:
		return 100
	}
	return rate
}

// Rate returns the configured percentage.
func (s *Sampler) Rate() int { return int(s.rate) }

// Next decides for a new event.
func (s *Sampler) Next() bool {
	if s.rate >= 100 {
		s.last = true
		return true
	}
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	s.last = z%100 < s.rate
	return s.last
}

// Last repeats the previous decision; pktvisor reuses it for filtered
// events.
func (s *Sampler) Last() bool { return s.last }
