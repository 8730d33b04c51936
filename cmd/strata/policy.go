package main

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/strata-project/strata/policies"
	"github.com/strata-project/strata/webhook/policy"
)

// testsFailed is policy test's answer when a test failed: run exits 1,
// the results having been printed.
type testsFailed struct{ failed int }

func (e testsFailed) Error() string { return fmt.Sprintf("%d test(s) failed", e.failed) }

func newPolicyCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "develop Rego policies for strata"}
	test := &cobra.Command{
		Use:   "test [DIR|FILE]...",
		Short: "run the Rego tests of your policies with strata's own engine and capabilities",
		Long: `Runs the _test.rego tests under each DIR (default: the current directory) with the
OPA engine strata serves with, under the same capabilities (no network built-ins),
with the built-in policies and data.strata.lib loaded beside yours, and the data
files of DIR under data.strata.config as strata serve reads them; --config adds
policies.data. No opa binary is needed. Exit code: 0 all passed, 1 a test failed
or errored, 2 the tests could not run.`,
	}
	verbose := test.Flags().BoolP("verbose", "v", false, "print every test, not only the failures")
	coverage := test.Flags().Bool("coverage", false, "print the share of each policy file's lines the tests ran")
	configPath := test.Flags().String("config", "", "strata.yaml whose policies.data the tests see")
	test.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			args = []string{"."}
		}
		opts := policy.TestOptions{Builtins: policies.FS, Paths: args, Coverage: *coverage}
		if *configPath != "" {
			cfg, err := loadConfig(*configPath)
			if err != nil {
				return err
			}
			opts.Data = cfg.Policies.Data
		}
		rep, err := policy.RunTests(cmd.Context(), opts)
		if err != nil {
			return err
		}
		return printTestReport(stdout, rep, *verbose)
	}
	schema := &cobra.Command{
		Use:   "schema",
		Short: "print the JSON schema of the policy input (apiVersion strata.dev/v1)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := policies.FS.ReadFile("input.schema.json")
			if err != nil {
				return err
			}
			_, err = stdout.Write(raw)
			return err
		},
	}
	cmd.AddCommand(test, schema)
	return cmd
}

// printTestReport prints the results as opa test does: failures (every
// test with verbose), then the count.
func printTestReport(w io.Writer, rep *policy.TestReport, verbose bool) error {
	failed := 0
	for _, r := range rep.Results {
		status := "PASS"
		switch {
		case r.Error != nil:
			status = "ERROR: " + r.Error.Error()
		case r.Fail:
			status = "FAIL"
		case r.Skip:
			status = "SKIPPED"
		}
		if status != "PASS" && status != "SKIPPED" {
			failed++
		}
		if verbose || status != "PASS" {
			fmt.Fprintf(w, "%s: data.%s.%s: %s (%s)\n", r.Location, r.Package, r.Name, status, r.Duration)
		}
	}
	for _, file := range slices.Sorted(maps.Keys(rep.Coverage)) {
		fmt.Fprintf(w, "coverage %s: %.1f%%\n", file, rep.Coverage[file])
	}
	if failed > 0 {
		fmt.Fprintf(w, "FAIL: %d/%d\n", failed, len(rep.Results))
		return testsFailed{failed: failed}
	}
	fmt.Fprintf(w, "PASS: %d/%d\n", len(rep.Results), len(rep.Results))
	return nil
}
