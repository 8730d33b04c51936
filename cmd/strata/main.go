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
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/report"
)

// errUsage marks a mistake in the command line: exit code 2, usage printed.
var errUsage = errors.New("usage")

func main() {
	// The container's limit (and GOGC under it), for every command; strata
	// serve derives a limit from its cache budget when there is none.
	applyMemorySettings(0)
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

// runWithStdin is run reading stdin for `strata check -f -`. Exit codes: 0
// done, 1 check (or audit --exit-code) found what the mode denies, 2
// anything else.
func runWithStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return execute(ctx, newRootCommand(stdin, stdout, stderr), args, stderr)
}

// execute runs the command tree root on args and returns the exit code.
func execute(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(goFlagSpellings(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, new(violationsFound)), errors.As(err, new(configInvalid)), errors.As(err, new(testsFailed)):
		return 1
	case cmd == root:
		fmt.Fprintf(stderr, "strata: %s\nRun 'strata --help' for the commands.\n", shownError(err))
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), shownError(err))
		return 2
	}
}

// shownError is err as printed: its text carries names from manifests,
// files and clusters (a file name may hold escapes and newlines), so each
// error is cleaned (report.Clean: a newline in it is shown as \n) and only
// errors.Join's own separators start a new line. No name can then redraw
// the terminal or start a line a CI log reads as a command (::error::);
// a CI runner trims leading spaces, so indenting would not do.
func shownError(err error) string {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		lines := make([]string, 0, len(joined.Unwrap()))
		for _, e := range joined.Unwrap() {
			lines = append(lines, shownError(e))
		}
		return strings.Join(lines, "\n")
	}
	return report.Clean(err.Error())
}

// newRootCommand builds the command tree; each command's flags are defined
// beside its run function.
func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "strata",
		Short: "strata keeps container images honest about what they are built on.",
		Long: `strata keeps container images honest about what they are built on.

  strata serve [flags]           run the admission webhook (--dev --demo: locally, no cluster)
  strata inspect IMAGE [flags]   show the facts strata reads for an image
  strata inspect --demo          show the facts of every image of the built-in demo
  strata check -f PATH [flags]   evaluate the policies on manifests, as the webhook would
  strata audit [-A] [flags]      evaluate what runs in a cluster: what enforcing would deny
  strata graph [flags]           draw bases → images → workloads; --uses REF: what to rebuild
  strata config validate [-f F]  say what is wrong in strata.yaml, by key and line
  strata policy test [DIR]...    run your policies' Rego tests with strata's engine
  strata policy schema           the JSON schema of the policy input
  strata version [-o json]       the module version and VCS revision strata was built from
  strata completion SHELL        a completion script for bash, zsh, fish or powershell`,
		// strata alone is a usage mistake, as it was before cobra: exit 2.
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(stderr)
			_ = cmd.Help()
			return errUsage
		},
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// A flag mistake prints the error and the command's usage, and exits 2.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		fmt.Fprintf(stderr, "strata %s: %v\n", cmd.Name(), err)
		cmd.SetOut(stderr)
		_ = cmd.Usage()
		return errUsage
	})
	root.SetUsageTemplate(usageTemplate)
	root.AddCommand(newServeCommand(stdout, stderr), newInspectCommand(stdout, stderr),
		newCheckCommand(stdin, stdout, stderr), newAuditCommand(stdout, stderr, inventory.ListCluster),
		newGraphCommand(stdin, stdout, stderr, inventory.ListCluster), newConfigCommand(stdout, stderr), newPolicyCommand(stdout, stderr), newVersionCommand(stdout, stderr))
	return root
}

// usageTemplate is cobra's, with the synopsis on the Usage line as strata
// has always printed it ("Usage: strata check -f FILE|DIR|- [flags]").
const usageTemplate = `Usage: {{if .HasAvailableSubCommands}}{{.CommandPath}} COMMAND [flags]{{else}}{{.UseLine}}{{end}}{{if .HasExample}}

{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Run '{{.CommandPath}} COMMAND --help' for a command's flags.{{end}}
`

// usageError prints what is wrong and the command's usage: exit 2.
func usageError(cmd *cobra.Command, format string, args ...any) error {
	if format != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...)
	}
	cmd.SetOut(cmd.ErrOrStderr())
	_ = cmd.Usage()
	return errUsage
}

// goFlagSpellings rewrites the single-dash long flags of Go's flag package
// (-config FILE, -demo=true), which strata read before cobra, into pflag's
// --config: scripts written for them keep working. Only names of the
// command's long flags are rewritten, so -o json, -ojson and -f - stay
// shorthands, and nothing after -- is touched.
func goFlagSpellings(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return args
	}
	out := slices.Clone(args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' {
			continue
		}
		if name, _, _ := strings.Cut(a[1:], "="); cmd.Flags().Lookup(name) != nil {
			out[i] = "-" + a
		}
	}
	return out
}
