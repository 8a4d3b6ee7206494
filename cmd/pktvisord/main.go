// Command pktvisord is the network observability agent: it captures traffic
// through taps and collection policies and serves pktvisor's REST API and
// Prometheus endpoints.
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
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pktvisord: "+err.Error())
		os.Exit(1)
	}
}
