// Command strata checks what container images are built on: as a Kubernetes
// validating admission webhook, and from the command line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `strata keeps container images honest about what they are built on.

Usage:
  strata serve [flags]           run the admission webhook (--dev --demo: locally, no cluster)
  strata inspect IMAGE [flags]   show the facts strata reads for an image
  strata inspect --demo          show the facts of every image of the built-in demo
  strata check -f PATH [flags]   evaluate the policies on manifests, as the webhook would

Run 'strata COMMAND -h' for a command's flags.
`

// errUsage marks a mistake in the command line: exit code 2, usage printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runWithStdin(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code. Standard
// input is empty.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWithStdin(ctx, args, strings.NewReader(""), stdout, stderr)
}

// runWithStdin is run reading stdin for `strata check -f -`.
func runWithStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "inspect":
		err = runInspect(ctx, args[1:], stdout, stderr)
	case "check":
		err = runCheck(ctx, args[1:], stdin, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "strata: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, new(violationsFound)):
		return 1
	default:
		fmt.Fprintf(stderr, "strata %s: %v\n", args[0], err)
		return 2
	}
}
