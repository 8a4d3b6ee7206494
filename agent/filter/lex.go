package filter

import (
	"fmt"
	"strings"
)

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokPunct
)

type token struct {
	kind    tokKind
	text    string
	escaped bool // word written with a leading backslash (\tcp): never a keyword
	pos     int
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of expression"
	}
	return fmt.Sprintf("%q at %d", t.text, t.pos)
}

// lex splits a pcap-filter expression into tokens. Words may hold letters,
// digits and . _ - : so that IPv4/IPv6/MAC addresses, port ranges (10-20)
// and names like tcp-syn are single tokens, as in libpcap; inside brackets
// ':' separates offset and size instead.
func lex(s string) ([]token, error) {
	var toks []token
	depth := 0
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isWordStart(c) || (c == ':' && depth == 0) || c == '\\':
			start := i
			escaped := c == '\\'
			if escaped {
				i++
			}
			j := i
			for j < len(s) && (isWordChar(s[j]) || (s[j] == ':' && depth == 0)) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("%w: stray backslash at %d", ErrSyntax, start)
			}
			toks = append(toks, token{kind: tokWord, text: s[i:j], escaped: escaped, pos: start})
			i = j
			continue
		}
		// Punctuation: longest match first.
		p := ""
		for _, cand := range []string{"&&", "||", "!=", "==", "<=", ">=", "<<", ">>"} {
			if strings.HasPrefix(s[i:], cand) {
				p = cand
				break
			}
		}
		if p == "" {
			if !strings.ContainsRune("()[]:!=<>&|+-*/%^", rune(c)) {
				return nil, fmt.Errorf("%w: unexpected character %q at %d", ErrSyntax, c, i)
			}
			p = s[i : i+1]
		}
		switch p {
		case "[":
			depth++
		case "]":
			depth--
		}
		toks = append(toks, token{kind: tokPunct, text: p, pos: i})
		i += len(p)
	}
	return append(toks, token{kind: tokEOF, pos: len(s)}), nil
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

func isWordChar(c byte) bool { return isWordStart(c) || c == '-' }
