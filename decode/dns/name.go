package dns

const (
	// MaxNameWire is the longest name on the wire, length bytes and the
	// root label included (RFC 1035 §2.3.4).
	MaxNameWire = 255
	// MaxLabelLen is the longest label.
	MaxLabelLen = 63
	// MaxPointerHops bounds the compression pointers followed for one name.
	// Backward-only pointers already rule out loops; this bounds the work.
	MaxPointerHops = 32
	// MaxNamePresentationLen is the longest presentation form Parse can
	// produce: four labels of 63, 63, 63 and 61 bytes (254 wire octets plus
	// the root), every byte escaped as \DDD, three dots, no trailing dot.
	MaxNamePresentationLen = 4*(63+63+63+61) + 3
)

// ParseName decodes the name at msg[off:] into dst in presentation form
// (lower-cased, escaped, no trailing dot, "." for the root) and returns the
// filled prefix of dst and the offset just past the name in msg. dst must
// hold MaxNamePresentationLen bytes for any name to fit.
func ParseName(dst *[MaxNamePresentationLen]byte, msg []byte, off int) (name []byte, next int, err error) {
	n, next, err := readName(dst, msg, off, SectionAny)
	if err != nil {
		return nil, 0, err
	}
	return dst[:n], next, nil
}

// readName implements ParseName. Pointers must target strictly before the
// start of the run of labels that holds them: each jump moves to an earlier
// offset, so the walk terminates even without the hop limit.
func readName(dst *[MaxNamePresentationLen]byte, msg []byte, off int, sec Section) (n, next int, err error) {
	segStart := off
	next = -1
	hops := 0
	wire := 0 // sum of label lengths + their length bytes
	for {
		if off >= len(msg) {
			return 0, 0, errAt(kindTruncated, sec)
		}
		c := int(msg[off])
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				off++
				if next < 0 {
					next = off
				}
				if n == 0 {
					dst[0] = '.'
					n = 1
				}
				return n, next, nil
			}
			if off+1+c > len(msg) {
				return 0, 0, errAt(kindTruncated, sec)
			}
			wire += c + 1
			if wire+1 > MaxNameWire {
				return 0, 0, errAt(kindNameTooLong, sec)
			}
			if n > 0 {
				dst[n] = '.'
				n++
			}
			for _, b := range msg[off+1 : off+1+c] {
				// Letters, digits and '-' are nearly every byte of real
				// names: copy them inline, lower-casing, and leave the
				// rest to appendEscaped.
				switch {
				case b-'a' < 26 || b-'0' < 10 || b == '-':
					dst[n] = b
					n++
				case b-'A' < 26:
					dst[n] = b + ('a' - 'A')
					n++
				default:
					n = appendEscaped(dst, n, b)
				}
			}
			off += 1 + c
		case 0xC0:
			if off+1 >= len(msg) {
				return 0, 0, errAt(kindTruncated, sec)
			}
			target := (c&0x3F)<<8 | int(msg[off+1])
			if next < 0 {
				next = off + 2
			}
			hops++
			if hops > MaxPointerHops || target >= segStart {
				return 0, 0, errAt(kindPointerLoop, sec)
			}
			off = target
			segStart = target
		default:
			// 0x40 and 0x80 label types are unassigned/obsolete; as lengths
			// they would exceed MaxLabelLen.
			return 0, 0, errAt(kindMalformed, sec)
		}
	}
}

// appendEscaped writes b at dst[n:] in lower-cased presentation form.
func appendEscaped(dst *[MaxNamePresentationLen]byte, n int, b byte) int {
	switch {
	case b >= 'A' && b <= 'Z':
		dst[n] = b + ('a' - 'A')
		return n + 1
	case b == '.' || b == ' ' || b == '\'' || b == '@' || b == ';' || b == '(' || b == ')' || b == '"' || b == '\\':
		dst[n] = '\\'
		dst[n+1] = b
		return n + 2
	case b < 0x20 || b > 0x7E:
		dst[n] = '\\'
		dst[n+1] = '0' + b/100
		dst[n+2] = '0' + b/10%10
		dst[n+3] = '0' + b%10
		return n + 4
	}
	dst[n] = b
	return n + 1
}

// skipName walks the labels at msg[off:] up to the root label or the first
// pointer (whose target is not followed) and returns the offset past the
// name. It checks framing only: label types, bounds and the wire length of
// the uncompressed part.
func skipName(msg []byte, off int, sec Section) (int, error) {
	wire := 0
	for {
		if off >= len(msg) {
			return 0, errAt(kindTruncated, sec)
		}
		c := int(msg[off])
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				return off + 1, nil
			}
			wire += c + 1
			if wire+1 > MaxNameWire {
				return 0, errAt(kindNameTooLong, sec)
			}
			off += 1 + c
		case 0xC0:
			if off+1 >= len(msg) {
				return 0, errAt(kindTruncated, sec)
			}
			return off + 2, nil
		default:
			return 0, errAt(kindMalformed, sec)
		}
	}
}
