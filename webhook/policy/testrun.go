package policy

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestOptions say which Rego tests RunTests runs.
type TestOptions struct {
	// Builtins are the built-in policies, loaded beside the user's so that
	// their tests can use data.strata.lib and the built-in packages; their
	// own _test.rego files are not run.
	Builtins fs.FS
	// Paths are the user's policy files or directories: .rego modules,
	// _test.rego tests and data files, read as strata serve reads them (data
	// files under data.strata.config).
	Paths []string
	// Data is policies.data, under data.strata.config as served.
	Data map[string]any
	// Coverage computes, per user file, the share of its lines the tests ran.
	Coverage bool
}

// TestResult is one Rego test.
type TestResult struct {
	Package  string
	Name     string
	Location string
	Fail     bool
	Skip     bool
	Error    error
	Duration string
}

// TestReport is what RunTests ran, and the coverage when asked.
type TestReport struct {
	Results []TestResult
	// Coverage is each user file's covered share, in percent.
	Coverage map[string]float64
}

// RunTests runs the user's Rego tests with the engine's own parser options
// and capabilities (no network built-ins), so that a test passes here
// exactly when its policy behaves so in strata serve.
func RunTests(ctx context.Context, opts TestOptions) (*TestReport, error) {
	src := &sources{modules: map[string]*ast.Module{}, data: map[string]any{}}
	if opts.Builtins != nil {
		err := fs.WalkDir(opts.Builtins, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !isPolicyFile(p) {
				return err
			}
			raw, err := fs.ReadFile(opts.Builtins, p)
			if err != nil {
				return err
			}
			return src.addModule("builtin/"+p, raw)
		})
		if err != nil {
			return nil, err
		}
	}
	var userFiles []string
	// The files are read with serve's checks and caps: what is not a
	// regular file (a FIFO would block) or is too large is refused unread.
	reader := files{maxFile: DefaultMaxFileBytes, maxTotal: DefaultMaxTotalBytes}
	var total int64
	for _, root := range opts.Paths {
		list, err := listFilesOf(root, func(p string) bool { return strings.HasSuffix(p, ".rego") || isDataFile(p) })
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			raw, err := reader.readFile(p)
			if err != nil {
				return nil, err
			}
			if total += int64(len(raw)); total > reader.maxTotal {
				return nil, fmt.Errorf("policy files: %s brings the total past the limit of %d bytes, as strata serve refuses it", p, reader.maxTotal)
			}
			switch {
			case strings.HasSuffix(p, ".rego"):
				err = src.addModule(p, raw)
				userFiles = append(userFiles, p)
			case isDataFile(p):
				err = src.addData(p, raw)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if !slices.ContainsFunc(userFiles, func(p string) bool { return strings.HasSuffix(p, "_test.rego") }) {
		return nil, fmt.Errorf("no _test.rego file under %s: write tests beside the policies (policy_test.rego)", strings.Join(opts.Paths, ", "))
	}
	data, err := mergeData(opts.Data, src.data)
	if err != nil {
		return nil, err
	}
	runner := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithCapabilities(restrictedCapabilities())).
		SetModules(src.modules).
		SetStore(inmem.NewFromObject(map[string]any{"strata": map[string]any{"config": data}}))
	var cov *cover.Cover
	if opts.Coverage {
		cov = cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
	}
	results, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("compiling the policies and their tests: %w", err)
	}
	rep := &TestReport{}
	for r := range results {
		if strings.HasPrefix(r.Location.File, "builtin/") {
			continue
		}
		rep.Results = append(rep.Results, TestResult{
			Package: strings.TrimPrefix(r.Package, "data."), Name: r.Name, Location: r.Location.String(),
			Fail: r.Fail, Skip: r.Skip, Error: r.Error, Duration: r.Duration.String(),
		})
	}
	slices.SortFunc(rep.Results, func(a, b TestResult) int { return strings.Compare(a.Location, b.Location) })
	if cov != nil {
		rep.Coverage = map[string]float64{}
		for file, fr := range cov.Report(src.modules).Files {
			if !strings.HasPrefix(file, "builtin/") && !strings.HasSuffix(file, "_test.rego") {
				rep.Coverage[file] = fr.Coverage
			}
		}
	}
	return rep, nil
}
