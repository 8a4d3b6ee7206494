package dns

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// SuffixList is the ICANN section of a Public Suffix List, used to make
// qname aggregation treat suffixes like "co.uk" as a single label. It is
// read-only after LoadSuffixList and safe for concurrent use.
type SuffixList struct {
	rules map[string]ruleKind
}

type ruleKind uint8

const (
	ruleNormal    ruleKind = 1 << iota // "com"
	ruleWildcard                       // "*.ck": every child of the key is a suffix
	ruleException                      // "!www.ck": the key is not a suffix, its parent is
)

const (
	pslBeginICANN = "===BEGIN ICANN DOMAINS==="
	pslEndICANN   = "===END ICANN DOMAINS==="
)

// LoadSuffixList reads the PSL file format (publicsuffix.org). Only rules
// between the BEGIN/END ICANN DOMAINS markers are kept — the private section
// (blogspot.com, github.io, …) is not about registries and pktvisor ignores it
// too. A file without markers is taken whole. Internationalised rules are
// stored in their ASCII (punycode) form, which is what appears on the wire.
func LoadSuffixList(r io.Reader) (*SuffixList, error) {
	all := make(map[string]ruleKind)
	icann := make(map[string]ruleKind)
	inICANN, sawMarker := false, false
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "//") {
			switch {
			case strings.Contains(text, pslBeginICANN):
				inICANN, sawMarker = true, true
			case strings.Contains(text, pslEndICANN):
				inICANN = false
			}
			continue
		}
		if text == "" {
			continue
		}
		// A rule ends at the first whitespace.
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			text = text[:i]
		}
		kind := ruleNormal
		switch {
		case strings.HasPrefix(text, "!"):
			kind, text = ruleException, text[1:]
		case strings.HasPrefix(text, "*."):
			kind, text = ruleWildcard, text[2:]
		}
		ascii, err := toASCII(text)
		if err != nil || ascii == "" || strings.Contains(ascii, "*") {
			return nil, fmt.Errorf("public suffix list line %d: bad rule %q", line, sc.Text())
		}
		ascii = strings.ToLower(ascii)
		all[ascii] |= kind
		if inICANN {
			icann[ascii] |= kind
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read public suffix list: %w", err)
	}
	if sawMarker {
		all = icann
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("public suffix list: no rules")
	}
	return &SuffixList{rules: all}, nil
}

// Len reports the number of distinct rule keys.
func (s *SuffixList) Len() int { return len(s.rules) }

// SuffixLen returns the length of name's public suffix including its leading
// dot (".co.uk" → 6) when name has at least one label in front of the
// suffix, else 0 (no rule matched, or name is itself a public suffix). name
// is expected lower-case, as Parse produces it; a trailing dot is allowed
// and counted. It allocates nothing.
func (s *SuffixList) SuffixLen(name []byte) int {
	trail := 0
	if n := len(name); n > 1 && name[n-1] == '.' {
		name, trail = name[:n-1], 1
	}
	// Candidates from the longest suffix to the shortest: the first rule that
	// matches has the most labels, which is the prevailing rule (exceptions
	// are always longer than the wildcard they carve out of).
	for i := 0; i < len(name); {
		cand := name[i:]
		parent := -1
		if d := bytes.IndexByte(cand, '.'); d >= 0 {
			parent = i + d + 1
		}
		k := s.rules[string(cand)]
		switch {
		case k&ruleException != 0:
			if parent < 0 {
				return 0
			}
			return s.result(name, parent, trail)
		case k&ruleNormal != 0:
			return s.result(name, i, trail)
		case parent >= 0 && s.rules[string(name[parent:])]&ruleWildcard != 0:
			return s.result(name, i, trail)
		}
		if parent < 0 {
			break
		}
		i = parent
	}
	return 0
}

// result turns a suffix starting at name[start:] into SuffixLen's answer.
func (s *SuffixList) result(name []byte, start, trail int) int {
	if start == 0 {
		return 0 // the name is a public suffix itself
	}
	return len(name) - start + 1 + trail
}
