// Package dns decodes DNS messages on the per-packet hot path without
// allocating: Parse fills a caller-owned Message (header, flags, first
// question, EDNS0 OPT, Client Subnet, answer facts) and keeps its buffers.
// It also holds the pure helpers the DNS handlers need: qname aggregation
// (pktvisor's aggregateDomain), the public suffix list, and qtype/rcode
// names.
//
// Decisions (each one deliberate; tests pin them):
//
//   - Query names are kept in presentation form, lower-cased (A-Z only),
//     labels joined by '.', without the trailing dot; the root is ".".
//     Bytes are escaped exactly as github.com/miekg/dns presents them:
//     the characters . space ' @ ; ( ) " \ as \X, bytes outside 0x21..0x7E
//     as \DDD. Escaping (rather than replacing) keeps distinct wire names
//     distinct and the output safe for JSON and Prometheus labels. The
//     worst-case escaped name is 1003 bytes (MaxNamePresentationLen), so the
//     name buffer is sized for that rather than 255: no valid wire name is
//     ever rejected or cut.
//   - Compression pointers must point strictly before the start of the run
//     of labels they appear in, which makes loops impossible by
//     construction; at most MaxPointerHops pointers are followed per name.
//     Self, cyclic and forward pointers yield ErrPointerLoop. (miekg/dns
//     accepts forward pointers within its hop limit; we do not.)
//   - A name is at most 255 wire octets (ErrNameTooLong); a label length
//     byte with the top bits 01 or 10 (lengths 64..191) is ErrMalformed.
//   - Names of records in the answer, authority and additional sections are
//     skipped, not decoded: labels are walked until the root or the first
//     pointer, whose target is not followed. Record data is skipped by its
//     RDLENGTH except for OPT. So a record whose owner name has a bad pointer,
//     or whose RDATA is malformed for its type, does not make Parse fail,
//     where miekg/dns Msg.Unpack would; this is the price of not decoding
//     what no metric reads.
//   - Like miekg/dns, header counts that overstate the records present are
//     tolerated when the message ends exactly on a record boundary (servers
//     send header-only REFUSED replies); Message.Answers is the number of
//     answer records actually present. A record cut in the middle is
//     ErrTruncated. Unlike miekg/dns, a question cut after its name or qtype
//     is ErrTruncated.
//   - EDNS0: the first OPT record of the additional section is used
//     (miekg/dns uses the last; RFC 6891 allows only one). The whole OPT
//     RDATA is walked; option framing errors are ErrMalformed. The first
//     Client Subnet option (code 8) anywhere in the OPT record is decoded
//     (pktvisor only looks at the first option, and only copies 8 bytes of
//     an IPv6 address; we decode the full address). An ECS option with an
//     unknown family, or a prefix longer than the family allows, is
//     ErrMalformed, as in miekg/dns. Family 0 with prefix 0 (sent by dig) is
//     accepted with an invalid (zero) address.
//
// Errors are *Error values from a fixed table: they carry the failure kind
// and the section it happened in, satisfy errors.Is against ErrTruncated,
// ErrMalformed, ErrPointerLoop and ErrNameTooLong, and cost no allocation.
package dns
