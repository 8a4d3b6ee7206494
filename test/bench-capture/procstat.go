package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseProcStatCPU returns utime+stime in seconds from a /proc/<pid>/stat
// line. The command name may contain spaces and parentheses, so fields are
// counted from the last ')'.
func parseProcStatCPU(stat string, clkTck float64) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat %q: no command field", stat)
	}
	f := strings.Fields(stat[i+1:])
	// After the command: state is field 3, utime 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command", len(f))
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proc stat utime: %w", err)
	}
	s, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proc stat stime: %w", err)
	}
	return float64(u+s) / clkTck, nil
}
