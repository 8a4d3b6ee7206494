package resourceshandler

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Usage is one reading of the process's resource counters.
type Usage struct {
	ProcJiffies  uint64 // utime + stime of the process
	TotalJiffies uint64 // sum of every field of /proc/stat's "cpu" line
	RSSBytes     uint64 // VmRSS
}

var errFormat = errors.New("unexpected format")

// readProc reads /proc (Linux). Other systems return an error and the
// handler simply records no samples.
func readProc() (Usage, error) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return Usage{}, err
	}
	sys, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Usage{}, err
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	if u.ProcJiffies, err = parseProcStat(stat); err != nil {
		return u, fmt.Errorf("/proc/self/stat: %w", err)
	}
	if u.TotalJiffies, err = parseSysStat(sys); err != nil {
		return u, fmt.Errorf("/proc/stat: %w", err)
	}
	if u.RSSBytes, err = parseRSS(status); err != nil {
		return u, fmt.Errorf("/proc/self/status: %w", err)
	}
	return u, nil
}

// parseProcStat returns utime+stime (fields 14 and 15) of a
// /proc/<pid>/stat line. The command name may contain spaces and
// parentheses, so fields are counted after the last ')'.
func parseProcStat(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errFormat
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime is field 14 → f[11], stime f[12].
	if len(f) < 13 {
		return 0, errFormat
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errFormat
	}
	return ut + st, nil
}

// parseSysStat sums the fields of the aggregate "cpu" line.
func parseSysStat(b []byte) (uint64, error) {
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) < 2 || string(f[0]) != "cpu" {
			continue
		}
		var sum uint64
		for _, x := range f[1:] {
			n, err := strconv.ParseUint(string(x), 10, 64)
			if err != nil {
				return 0, errFormat
			}
			sum += n
		}
		return sum, nil
	}
	return 0, errFormat
}

// parseRSS returns VmRSS in bytes.
func parseRSS(b []byte) (uint64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 1 {
			return 0, errFormat
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, errFormat
		}
		return kb * 1024, nil
	}
	return 0, errFormat
}
