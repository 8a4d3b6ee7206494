package metrics

import "strconv"

// FormatBound renders a histogram boundary the way pktvisor does: integers
// in decimal, fractional values with six decimals.
func FormatBound(b float64) string {
	if b == float64(int64(b)) {
		return strconv.FormatInt(int64(b), 10)
	}
	return strconv.FormatFloat(b, 'f', 6, 64)
}
