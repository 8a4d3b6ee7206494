package dns

import "strconv"

// TypeName returns the mnemonic of a record type ("A", "AAAA", "PTR", …;
// IANA spellings, 255 is "ANY") or its decimal value. Known types cost no
// allocation; unknown ones above 99 allocate the decimal string — use
// AppendTypeName on hot paths.
func TypeName(t uint16) string {
	if s := typeName(t); s != "" {
		return s
	}
	return strconv.Itoa(int(t))
}

// AppendTypeName appends TypeName(t) to dst.
func AppendTypeName(dst []byte, t uint16) []byte {
	if s := typeName(t); s != "" {
		return append(dst, s...)
	}
	return strconv.AppendUint(dst, uint64(t), 10)
}

// RcodeName returns pktvisor's name of an rcode ("NOERROR", "FORMERR",
// "SRVFAIL", "NXDOMAIN", …) or its decimal value. pktvisor spells rcode 2
// "SRVFAIL" (matching its `srvfail` counters), not the IANA "SERVFAIL".
func RcodeName(r uint16) string {
	if s := rcodeName(r); s != "" {
		return s
	}
	return strconv.Itoa(int(r))
}

// AppendRcodeName appends RcodeName(r) to dst.
func AppendRcodeName(dst []byte, r uint16) []byte {
	if s := rcodeName(r); s != "" {
		return append(dst, s...)
	}
	return strconv.AppendUint(dst, uint64(r), 10)
}

func rcodeName(r uint16) string {
	switch r {
	case 0:
		return "NOERROR"
	case 1:
		return "FORMERR"
	case 2:
		return "SRVFAIL"
	case 3:
		return "NXDOMAIN"
	case 4:
		return "NOTIMP"
	case 5:
		return "REFUSED"
	case 6:
		return "YXDOMAIN"
	case 7:
		return "YXRRSET"
	case 8:
		return "NXRRSET"
	case 9:
		return "NOTAUTH"
	case 10:
		return "NOTZONE"
	case 11:
		return "DSOTYPENI"
	case 16:
		return "BADVERS"
	case 17:
		return "BADKEY"
	case 18:
		return "BADTIME"
	case 19:
		return "BADMODE"
	case 20:
		return "BADNAME"
	case 21:
		return "BADALG"
	case 22:
		return "BADTRUNC"
	case 23:
		return "BADCOOKIE"
	}
	return ""
}

// RcodeByName maps an rcode name (case-sensitive upper case, as RcodeName
// returns; "SERVFAIL" is accepted too) back to its value.
func RcodeByName(s string) (uint16, bool) {
	if s == "SERVFAIL" {
		return 2, true
	}
	for r := uint16(0); r < 24; r++ {
		if rcodeName(r) == s && s != "" {
			return r, true
		}
	}
	return 0, false
}

// TypeByName maps a type mnemonic (upper case) back to its value.
func TypeByName(s string) (uint16, bool) {
	if s == "" {
		return 0, false
	}
	for _, r := range [...][2]uint16{{1, 260}, {32768, 32769}} {
		for t := r[0]; t <= r[1]; t++ {
			if typeName(t) == s {
				return t, true
			}
		}
	}
	return 0, false
}

func typeName(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 2:
		return "NS"
	case 3:
		return "MD"
	case 4:
		return "MF"
	case 5:
		return "CNAME"
	case 6:
		return "SOA"
	case 7:
		return "MB"
	case 8:
		return "MG"
	case 9:
		return "MR"
	case 10:
		return "NULL"
	case 11:
		return "WKS"
	case 12:
		return "PTR"
	case 13:
		return "HINFO"
	case 14:
		return "MINFO"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 17:
		return "RP"
	case 18:
		return "AFSDB"
	case 19:
		return "X25"
	case 20:
		return "ISDN"
	case 21:
		return "RT"
	case 22:
		return "NSAP"
	case 23:
		return "NSAP-PTR"
	case 24:
		return "SIG"
	case 25:
		return "KEY"
	case 26:
		return "PX"
	case 27:
		return "GPOS"
	case 28:
		return "AAAA"
	case 29:
		return "LOC"
	case 30:
		return "NXT"
	case 31:
		return "EID"
	case 32:
		return "NIMLOC"
	case 33:
		return "SRV"
	case 34:
		return "ATMA"
	case 35:
		return "NAPTR"
	case 36:
		return "KX"
	case 37:
		return "CERT"
	case 38:
		return "A6"
	case 39:
		return "DNAME"
	case 40:
		return "SINK"
	case 41:
		return "OPT"
	case 42:
		return "APL"
	case 43:
		return "DS"
	case 44:
		return "SSHFP"
	case 45:
		return "IPSECKEY"
	case 46:
		return "RRSIG"
	case 47:
		return "NSEC"
	case 48:
		return "DNSKEY"
	case 49:
		return "DHCID"
	case 50:
		return "NSEC3"
	case 51:
		return "NSEC3PARAM"
	case 52:
		return "TLSA"
	case 53:
		return "SMIMEA"
	case 55:
		return "HIP"
	case 56:
		return "NINFO"
	case 57:
		return "RKEY"
	case 58:
		return "TALINK"
	case 59:
		return "CDS"
	case 60:
		return "CDNSKEY"
	case 61:
		return "OPENPGPKEY"
	case 62:
		return "CSYNC"
	case 63:
		return "ZONEMD"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	case 99:
		return "SPF"
	case 100:
		return "UINFO"
	case 101:
		return "UID"
	case 102:
		return "GID"
	case 103:
		return "UNSPEC"
	case 104:
		return "NID"
	case 105:
		return "L32"
	case 106:
		return "L64"
	case 107:
		return "LP"
	case 108:
		return "EUI48"
	case 109:
		return "EUI64"
	case 249:
		return "TKEY"
	case 250:
		return "TSIG"
	case 251:
		return "IXFR"
	case 252:
		return "AXFR"
	case 253:
		return "MAILB"
	case 254:
		return "MAILA"
	case 255:
		return "ANY"
	case 256:
		return "URI"
	case 257:
		return "CAA"
	case 258:
		return "AVC"
	case 259:
		return "DOA"
	case 260:
		return "AMTRELAY"
	case 32768:
		return "TA"
	case 32769:
		return "DLV"
	}
	return ""
}
