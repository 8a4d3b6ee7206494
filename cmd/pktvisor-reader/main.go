// Command pktvisor-reader summarises a capture file into pktvisor's metrics
// JSON: the same decode and handler code as the agent, fed from a file.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pktvisor-reader:", err)
		os.Exit(255) // pktvisor exits with -1
	}
}
