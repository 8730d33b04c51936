package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/strata-project/strata/webhook"
)

// configInvalid is config validate's answer when the file has errors: run
// exits 1, the problems having been printed.
type configInvalid struct{ errors int }

func (e configInvalid) Error() string {
	return fmt.Sprintf("%d error(s) in the configuration", e.errors)
}

// defaultConfigFile is the file config validate reads without -f.
const defaultConfigFile = "strata.yaml"

func newConfigCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "work with strata.yaml",
	}
	validate := &cobra.Command{
		Use:   "validate [-f strata.yaml]",
		Short: "say what is wrong in strata.yaml, by key and line, before strata runs with it",
		Long: `Reads strata.yaml as strata serve would and names, by key path and line, every
error (unknown keys, with the nearest known one; values of the wrong kind; an
unquoted off that YAML reads as false; unknown platforms; policies that do not
compile) and every warning (policies.data keys no policy reads; policies that
are on but inactive; policy files strata never evaluates or that lack
# METADATA; catalog images that cannot be read; tag patterns matching no tag).
Exit code: 0 valid (warnings allowed), 1 errors, 2 the file could not be read.`,
		Args: cobra.NoArgs,
	}
	file := validate.Flags().StringP("filename", "f", defaultConfigFile, "the configuration to validate")
	offline := validate.Flags().Bool("offline", false, "do not contact the catalog's registries")
	strict := validate.Flags().Bool("strict", false, "count warnings as errors (exit 1), for CI")
	validate.RunE = func(cmd *cobra.Command, _ []string) error {
		return runConfigValidate(cmd.Context(), *file, validateFlags{offline: *offline, strict: *strict}, stdout, stderr)
	}
	cmd.AddCommand(validate)
	return cmd
}

// validateFlags are config validate's flags.
type validateFlags struct{ offline, strict bool }

func runConfigValidate(ctx context.Context, file string, f validateFlags, stdout, stderr io.Writer) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	v := &validation{file: file, out: stdout, strict: f.strict}
	v.report(webhook.LintConfig(raw, nil)...)
	if v.errors > 0 {
		return v.done()
	}
	cfg, err := webhook.ParseConfig(raw)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		v.fail(err)
		return v.done()
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	p, err := webhook.NewPipeline(ctx, cfg, webhook.PipelineOptions{Logger: logger})
	if err != nil {
		v.fail(err)
		return v.done()
	}
	defer p.Close()
	for _, prob := range webhook.LintConfig(raw, p.Engine) {
		if prob.Warning {
			v.report(prob)
		}
	}
	for _, n := range p.Engine.Notes() {
		v.warn(n)
	}
	for _, m := range p.Engine.Policies() {
		if m.Inactive != "" {
			v.warn(fmt.Sprintf("policy %s is on but inactive: %s", m.ID, m.Inactive))
		}
	}
	if !f.offline {
		v.catalog(ctx, p)
	}
	return v.done()
}

// logConfigWarnings logs, at serve's start, the warnings config validate
// would print that need no registry: strata runs with them, but probably
// not as meant. It returns how many it logged.
func logConfigWarnings(path string, p *webhook.Pipeline, logger *slog.Logger) int {
	n := 0
	if path != "" {
		if raw, err := os.ReadFile(path); err == nil {
			for _, prob := range webhook.LintConfig(raw, p.Engine) {
				logger.Warn("configuration: "+prob.Problem, "key", prob.Path, "line", prob.Line)
				n++
			}
		}
	}
	for _, note := range p.Engine.Notes() {
		logger.Warn("policy files: " + note)
		n++
	}
	return n
}

// validation prints what config validate finds, and counts it.
type validation struct {
	file             string
	out              io.Writer
	errors, warnings int
	loaded           string
	strict           bool
}

func (v *validation) report(problems ...webhook.ConfigProblem) {
	for _, p := range problems {
		if p.Warning {
			v.warn(p.String())
		} else {
			v.errors++
			fmt.Fprintf(v.out, "%s: error: %s\n", v.file, p)
		}
	}
}

func (v *validation) fail(err error) {
	v.errors++
	fmt.Fprintf(v.out, "%s: error: %v\n", v.file, err)
}

func (v *validation) warn(msg string) {
	v.warnings++
	fmt.Fprintf(v.out, "%s: warning: %s\n", v.file, msg)
}

// catalog loads the catalog as serve would, and warns of what it could not
// read and of what it would know nothing about.
func (v *validation) catalog(ctx context.Context, p *webhook.Pipeline) {
	if len(p.Config.Catalog.Images) == 0 {
		v.warn("catalog.images is empty: lineage knows no base image, so every image's base is unknown to approved-base and base-freshness has nothing to compare")
		return
	}
	if err := p.LoadCatalog(ctx); err != nil {
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				v.warn(e.Error())
			}
		} else {
			v.warn(err.Error())
		}
	}
	for _, u := range p.Catalog.Unmatched() {
		v.warn(u)
	}
	v.loaded = fmt.Sprintf(", %d catalog image(s) loaded", p.Catalog.Len())
}

func (v *validation) done() error {
	fmt.Fprintf(v.out, "%s: %d error(s), %d warning(s)%s\n", v.file, v.errors, v.warnings, v.loaded)
	if v.errors > 0 || v.strict && v.warnings > 0 {
		return configInvalid{errors: v.errors}
	}
	return nil
}
