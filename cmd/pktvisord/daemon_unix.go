//go:build !windows && !plan9

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// daemonEnv marks the re-executed child so it does not fork again.
const daemonEnv = "PKTVISORD_DAEMON_CHILD"

// daemonize re-executes the program detached from the terminal (new
// session, stdio on /dev/null) and waits until the child reports that it
// started — or why it did not — over a pipe, so -d fails loudly instead of
// leaving a half-started daemon. Go cannot fork safely; a re-exec is the
// equivalent. Under systemd, run in the foreground instead.
func daemonize(args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	defer null.Close()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("daemonize: %w", err)
	}
	w.Close()
	// A read error means the child closed the pipe without a word: it
	// died before starting, which the empty line below reports.
	line, _ := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "ok" {
		_ = cmd.Process.Release()
		return nil
	}
	_ = cmd.Wait()
	if line == "" {
		return errors.New("daemon exited before it started")
	}
	return errors.New(line)
}

// daemonChild returns the readiness pipe when this process is the
// re-executed daemon, else nil.
func daemonChild() *os.File {
	if os.Getenv(daemonEnv) != "1" {
		return nil
	}
	return os.NewFile(3, "ready")
}
