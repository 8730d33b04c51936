package main

import (
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// The values of -o, per command; the first is the default.
var (
	checkOutputs   = []string{"text", "json", "sarif"}
	inspectOutputs = []string{"text", "json", "input"}
	versionOutputs = []string{"text", "json"}
)

// output is -o/--output, as kubectl spells it, with its values completed
// by the shell and checked before anything runs.
type output struct {
	value   string
	allowed []string
}

func outputFlag(cmd *cobra.Command, allowed []string) *output {
	o := &output{allowed: allowed}
	cmd.Flags().StringVarP(&o.value, "output", "o", allowed[0], "output format: "+strings.Join(allowed, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
	return o
}

// check refuses a value the command does not print: exit 2.
func (o *output) check(cmd *cobra.Command) error {
	if slices.Contains(o.allowed, o.value) {
		return nil
	}
	last := len(o.allowed) - 1
	return usageError(cmd, "-o %q: want %s or %s", o.value, strings.Join(o.allowed[:last], ", "), o.allowed[last])
}

// isTerminal says whether w is a terminal, for the progress bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
