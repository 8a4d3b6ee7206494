package dns

// AggregateDomain implements pktvisor's aggregateDomain: it returns the last
// two labels (qname2, with its leading dot) and the last three labels
// (qname3) of name, as subslices of name. staticSuffixLen, when non-zero and
// shorter than name, moves the end of the search to len(name)-staticSuffixLen
// so that a public suffix such as ".co.uk" counts as one label.
//
// The edge cases follow pktvisor exactly: names shorter than 5 bytes give
// (name, ""); a name with no dot before the end (or only a leading one)
// gives (name, name); with one dot, (name, ""); when there is no dot left of
// qname2's, qname3 is the whole name. A trailing dot is ignored for the
// search but kept in the results.
func AggregateDomain(name []byte, staticSuffixLen int) (qname2, qname3 []byte) {
	empty := name[len(name):]
	if len(name) < 5 {
		return name, empty
	}
	end := len(name) - 1
	if name[end] == '.' {
		end--
	}
	if staticSuffixLen > 0 && staticSuffixLen < len(name) {
		end = len(name) - staticSuffixLen
	}
	first := lastDotAtOrBefore(name, end)
	if first <= 0 {
		return name, name
	}
	second := lastDotAtOrBefore(name, first-1)
	if second < 0 {
		return name, empty
	}
	qname2, qname3 = name[second:], name
	if second > 0 {
		if third := lastDotAtOrBefore(name, second-1); third >= 0 {
			qname3 = name[third:]
		}
	}
	return qname2, qname3
}

func lastDotAtOrBefore(b []byte, i int) int {
	for ; i >= 0; i-- {
		if b[i] == '.' {
			return i
		}
	}
	return -1
}
