// Command pktvisor-cli is a terminal view of one agent: packet and DNS
// summaries, top tables, capture health and live-rate sparklines, polled
// once a second from the REST API.
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
		fmt.Fprintln(os.Stderr, "pktvisor-cli:", err)
		os.Exit(1)
	}
}
