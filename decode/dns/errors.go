package dns

// Section names the part of a message a parse error occurred in.
type Section uint8

const (
	SectionAny Section = iota // matches any section in errors.Is
	SectionHeader
	SectionQuestion
	SectionAnswer
	SectionAuthority
	SectionAdditional
	numSections
)

func (s Section) String() string {
	switch s {
	case SectionHeader:
		return "header"
	case SectionQuestion:
		return "question"
	case SectionAnswer:
		return "answer"
	case SectionAuthority:
		return "authority"
	case SectionAdditional:
		return "additional"
	}
	return "message"
}

type errKind uint8

const (
	kindTruncated errKind = iota
	kindMalformed
	kindPointerLoop
	kindNameTooLong
	numKinds
)

var kindText = [numKinds]string{
	kindTruncated:   "truncated message",
	kindMalformed:   "malformed message",
	kindPointerLoop: "bad compression pointer",
	kindNameTooLong: "name too long",
}

// Error is a parse failure. Values come from a fixed table, so returning one
// allocates nothing; compare with errors.Is against the Err* sentinels.
type Error struct {
	kind    errKind
	section Section
}

func (e *Error) Error() string {
	if e.section == SectionAny {
		return "dns: " + kindText[e.kind]
	}
	return "dns: " + kindText[e.kind] + " in " + e.section.String() + " section"
}

// Section reports where the failure happened.
func (e *Error) Section() Section { return e.section }

// Is matches a sentinel of the same kind (sentinels match any section).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.kind == e.kind && (t.section == SectionAny || t.section == e.section)
}

// errTable is written once at package initialisation and only read after;
// handing out pointers into it keeps error returns allocation-free.
var errTable = func() (t [numKinds][numSections]Error) {
	for k := range t {
		for s := range t[k] {
			t[k][s] = Error{kind: errKind(k), section: Section(s)}
		}
	}
	return t
}()

func errAt(k errKind, s Section) error { return &errTable[k][s] }

// Sentinels for errors.Is.
var (
	ErrTruncated   error = &errTable[kindTruncated][SectionAny]
	ErrMalformed   error = &errTable[kindMalformed][SectionAny]
	ErrPointerLoop error = &errTable[kindPointerLoop][SectionAny]
	ErrNameTooLong error = &errTable[kindNameTooLong][SectionAny]
)
