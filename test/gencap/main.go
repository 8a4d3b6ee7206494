// Command gencap writes the synthetic test captures: the committed sample
// (test/testdata/sample.pcap) by default, or a random-qname DNS flood with
// -flood. The output depends only on the flags, so regenerating the sample
// reproduces the committed file byte for byte.
//
//	go run ./test/gencap -o test/testdata/sample.pcap
//	go run ./test/gencap -flood -n 200000 -answered 30 -o /tmp/flood.pcap
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/visorng/visor/test/capgen"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gencap:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gencap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output pcap file (required)")
	flood := fs.Bool("flood", false, "write a random-qname DNS flood instead of the sample")
	var fo capgen.FloodOptions
	fs.IntVar(&fo.Queries, "n", 100000, "flood: number of queries")
	fs.Int64Var(&fo.Seed, "seed", 1, "flood: PRNG seed")
	fs.IntVar(&fo.Answered, "answered", 50, "flood: percent of queries answered with NXDOMAIN")
	fs.IntVar(&fo.Sources, "sources", 5000, "flood: distinct client addresses")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return errors.New("usage: gencap [-flood [-n N] [-seed S] [-answered PCT] [-sources N]] -o FILE")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if *flood {
		_, err = capgen.Flood(w, fo)
	} else {
		err = capgen.Sample(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	return nil
}
