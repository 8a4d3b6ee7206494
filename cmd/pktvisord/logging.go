package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// reopenFile is a log destination that can be reopened in place, so
// logrotate can move the file and signal SIGHUP.
type reopenFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func openLogFile(path string) (*reopenFile, error) {
	r := &reopenFile{path: path}
	if err := r.Reopen(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *reopenFile) Reopen() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return nil
}

func (r *reopenFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Write(p)
}

func (r *reopenFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}

// newLogger builds the process logger: stdout by default, a reopenable
// file with --log-file, syslog with --syslog. The returned closer releases
// the destination; reopen is nil unless the destination is a file.
func newLogger(o *options, stdout io.Writer) (log *slog.Logger, reopen func() error, closer func(), err error) {
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch {
	case o.syslog:
		w, err := openSyslog()
		if err != nil {
			return nil, nil, nil, err
		}
		return slog.New(slog.NewTextHandler(w, hopts)), nil, func() { _ = w.Close() }, nil
	case o.logFile != "":
		f, err := openLogFile(o.logFile)
		if err != nil {
			return nil, nil, nil, err
		}
		return slog.New(slog.NewTextHandler(f, hopts)), f.Reopen, func() { _ = f.Close() }, nil
	}
	return slog.New(slog.NewTextHandler(stdout, hopts)), nil, func() {}, nil
}
