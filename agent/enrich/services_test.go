package enrich

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleCSV = `Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes
,0,tcp,Reserved,,,,,,,,
domain,53,tcp,Domain Name Server,,,,,,,,
domain,53,udp,Domain Name Server,,,,,,,,
dupe,53,udp,second definition loses,,,,,,,,
sctp-only,99,sctp,not tcp or udp,,,,,,,,
registered-10k,10000-19999,tcp,range,,,,,,,,
ndmp,10000,tcp,inside the range but after it in the file,,,,,,,,
`

func TestServicesLookup(t *testing.T) {
	s, err := LoadServices(strings.NewReader(sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		proto Proto
		port  uint16
		want  string
	}{
		{TCP, 53, "domain"}, {UDP, 53, "domain"}, {UDP, 54, "54"}, {TCP, 99, "99"},
		{TCP, 12345, "registered-10k"}, {TCP, 19999, "registered-10k"}, {TCP, 20000, "20000"},
		{TCP, 10000, "ndmp"}, {UDP, 12345, "12345"}, {TCP, 0, "0"},
	}
	for _, c := range cases {
		if got := s.Name(c.proto, c.port); got != c.want {
			t.Errorf("Name(%v, %d) = %q, want %q", c.proto, c.port, got, c.want)
		}
	}
}

func TestServicesBadInput(t *testing.T) {
	for _, in := range []string{"", "a,b,c\n", "Service Name,Port Number,Transport Protocol\n\"unterminated"} {
		if _, err := LoadServices(strings.NewReader(in)); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
	if _, err := LoadServices(strings.NewReader("Service Name,Port Number,Transport Protocol\nx,notaport,tcp\ny,5-1,udp\n")); err != nil {
		t.Errorf("bad rows should be skipped, got %v", err)
	}
}

func TestDefaultServices(t *testing.T) {
	s := DefaultServices()
	for port, want := range map[uint16]string{53: "domain", 443: "https", 5353: "mdns", 55000: "dynamic-client", 12000: "registered-10k", 10853: "pktvisor", 1: "1"} {
		if got := s.Name(UDP, port); got != want {
			t.Errorf("default Name(udp, %d) = %q, want %q", port, got, want)
		}
	}
}

func TestFixtureRegistries(t *testing.T) {
	dir := fixtures(t)
	iana, err := LoadServicesFile(filepath.Join(dir, "service-names-port-numbers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if got := iana.Name(TCP, 443); got != "https" {
		t.Errorf("iana 443/tcp = %q", got)
	}
	pv, err := LoadServicesFile(filepath.Join(dir, "pktvisor-port-service-names.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if got := pv.Name(UDP, 50000); got != "dynamic-client" {
		t.Errorf("pktvisor 50000/udp = %q", got)
	}
	if _, err := LoadServicesFile(filepath.Join(t.TempDir(), "none.csv")); err == nil || !os.IsNotExist(errUnwrapAll(err)) {
		t.Errorf("missing file error %v", err)
	}
}

func errUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
