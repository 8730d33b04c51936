// Command loadgen sends AdmissionReviews to a webhook on this machine over
// HTTPS keep-alive connections and reports throughput, latency percentiles
// and errors.
//
//	loadgen -url https://127.0.0.1:8443/validate/warn -insecure \
//	    -body test/bench/testdata/warm-pod.json -concurrency 8 -duration 10s
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/strata-project/strata/test/bench/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errFailures):
		os.Exit(1)
	case err != nil:
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(2)
	}
}

// errFailures: the run happened, but some requests failed.
var errFailures = errors.New("some requests failed")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts load.Options
	fs.StringVar(&opts.URL, "url", "https://127.0.0.1:8443/validate/warn?timeout=10s", "the webhook URL (loopback only)")
	fs.IntVar(&opts.Concurrency, "concurrency", 8, "requests in flight, each worker on its own keep-alive connection")
	fs.DurationVar(&opts.Duration, "duration", 0, "how long to send requests (default 10s, or up to 1h with -n)")
	fs.IntVar(&opts.Requests, "n", 0, "how many requests to send (0: as many as -duration allows)")
	fs.BoolVar(&opts.Insecure, "insecure", false, "skip verifying the server certificate (self-signed development certificates)")
	fs.BoolVar(&opts.HTTP2, "http2", false, "multiplex requests over HTTP/2 instead of one HTTP/1.1 connection per worker")
	fs.BoolVar(&opts.UniqueNames, "unique-names", false, "give every request's object its own name, from generateName, as the API server does before validating admission")
	fs.DurationVar(&opts.Timeout, "timeout", 0, "per-request timeout (default 10s)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: loadgen -body FILE [flags]\n\nSends AdmissionReviews to a webhook on this machine and reports throughput,\nlatency percentiles and errors. See test/bench/README.md.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	body := fs.String("body", "", "file holding the AdmissionReview to send; each request gets a fresh uid")
	imageList := fs.String("images", "", "file listing image references, one a line; each request names the next ones (the cold case)")
	output := fs.String("o", "text", "output: text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *body == "" || (*output != "text" && *output != "json") {
		fs.Usage()
		return errors.New("give -body FILE, -o text|json, and no arguments")
	}
	var err error
	if opts.Body, err = os.ReadFile(*body); err != nil {
		return err
	}
	if *imageList != "" {
		if opts.Images, err = readLines(*imageList); err != nil {
			return err
		}
		if len(opts.Images) == 0 {
			return fmt.Errorf("%s lists no images", *imageList)
		}
	}
	res, err := load.Run(ctx, opts)
	if err != nil {
		return err
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = res.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if res.Errors.Total() > 0 {
		return errFailures
	}
	return nil
}

// readLines reads non-empty lines, # comments left out.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}
