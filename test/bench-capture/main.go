// Command bench-capture measures the agent's capture paths against each
// other, against tcpdump and against an XDP_DROP counter-only ceiling, in
// two network namespaces joined by a veth pair that it creates and removes.
// trafgen (netsniff-ng) sends 64-byte UDP frames from one namespace for a
// few seconds per case; in the other, each path runs as its own process (this
// binary re-executed with -recv) so its CPU time is its own. Run it with
// `make bench-capture` (root; trafgen and tcpdump installed).
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
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-capture:", err)
		os.Exit(1)
	}
}
