package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/inventory"
)

// proseSeconds writes d as README.md does in prose: "7 s".
func proseSeconds(d time.Duration) string { return fmt.Sprintf("%d s", d/time.Second) }

// knobTables are README.md's tables of environment variables (variable,
// default, what), merged: the variable and its default cell.
func knobTables(t *testing.T) map[string]string {
	t.Helper()
	knobs := map[string]string{}
	var in bool
	for _, line := range strings.Split(string(testutil.ReadFile(t, "README.md")), "\n") {
		if !strings.HasPrefix(line, "|") {
			in = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if slices.Equal(cells, []string{"variable", "default", "what"}) {
			in = true
			continue
		}
		if in && !strings.HasPrefix(cells[0], "---") {
			knobs[strings.Trim(cells[0], "`")] = strings.Trim(cells[1], "`")
		}
	}
	return knobs
}

// test/bench/README.md's knob tables and the prose that states a
// harness's defaults (durations, sizes, concurrencies, warm-up) are the
// values the -tags loadtest harnesses run with (knobs_test.go), and every
// BENCH_ variable the harnesses read is in a table.
func TestBenchReadmeKnobsAreTheHarnessDefaults(t *testing.T) {
	t.Parallel()
	knobs := knobTables(t)
	want := map[string]string{
		"BENCH_DURATION": defaultDuration.String(), "BENCH_COLD_IMAGES": strconv.Itoa(defaultColdImages),
		"BENCH_CATALOG": strconv.Itoa(defaultCatalog), "BENCH_COLD_N": strconv.Itoa(defaultColdN),
		"BENCH_OUT": "—", "BENCH_PROFILE": "—",
		"BENCH_API_DURATION": defaultAPIDuration.String(), "BENCH_API_ROUNDS": strconv.Itoa(defaultAPIRounds),
		"BENCH_API_PROFILE": "—", "BENCH_API_BASELINE": "—", "BENCH_API_CONTROL": "—",
		"BENCH_AUDIT_NAMESPACES": strconv.Itoa(defaultAuditNamespaces), "BENCH_AUDIT_IMAGES": strconv.Itoa(defaultAuditImages),
		"BENCH_AUDIT_CATALOG": strconv.Itoa(defaultAuditCatalog),
	}
	for k, v := range want {
		if knobs[k] != v {
			t.Errorf("README.md's knob table gives %s the default %q; the harness's is %q", k, knobs[k], v)
		}
	}
	for k := range knobs {
		if _, ok := want[k]; !ok {
			t.Errorf("README.md's knob table names %s, which no harness default here covers", k)
		}
	}
	// Every variable a harness reads is documented.
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`(?:Getenv|FromEnv\(t,) ?\(?"(BENCH_[A-Z_]+)"`)
	for _, f := range files {
		for _, m := range read.FindAllStringSubmatch(string(testutil.ReadFile(t, f)), -1) {
			if _, ok := knobs[m[1]]; !ok {
				t.Errorf("%s reads %s, which README.md's knob tables do not name", f, m[1])
			}
		}
	}

	share := map[int]string{2: "a half", 4: "a quarter"}[probeShare]
	kinds := map[string]int{}
	for _, k := range auditKinds {
		kinds[k]++
	}
	workloads := defaultAuditNamespaces * len(auditKinds)
	prose := testutil.DocProse(t, "README.md")
	for _, phrase := range []string{
		// make bench-load
		fmt.Sprintf("warms up with %d requests", warmUpRequests),
		fmt.Sprintf("runs at concurrency 1 for %s of `BENCH_DURATION`", share),
		fmt.Sprintf("then at %d and %d for `BENCH_DURATION` (%s) each", defaultConcurrency[0], defaultConcurrency[1], defaultDuration),
		fmt.Sprintf("`BENCH_CATALOG` (%d) runtimes", defaultCatalog),
		fmt.Sprintf("`BENCH_COLD_IMAGES` (%s) applications", testutil.Thousands(defaultColdImages)),
		fmt.Sprintf("`BENCH_COLD_N` (%s) times", testutil.Thousands(defaultColdN)),
		fmt.Sprintf("its first %d images one at a time", firstColdImages),
		// make bench-apiserver
		fmt.Sprintf("warms each of its scenarios up for %s at concurrency %d", proseSeconds(apiWarmup), slices.Max(apiConcurrency)),
		fmt.Sprintf("then at concurrency %d and %d, measures each scenario for `BENCH_API_DURATION` (%s) in `BENCH_API_ROUNDS` (%d) slices of %s",
			apiConcurrency[0], apiConcurrency[1], proseSeconds(defaultAPIDuration), defaultAPIRounds, proseSeconds(defaultAPIDuration/defaultAPIRounds)),
		// make bench-audit
		fmt.Sprintf("the %s application images (`apps/…`)", testutil.Thousands(defaultAuditImages)),
		fmt.Sprintf("one OS base, %d runtimes on it (the %d-image catalog) and %s applications", defaultAuditCatalog-1, defaultAuditCatalog, testutil.Thousands(defaultAuditImages)),
		fmt.Sprintf("creates %d namespaces of %d workloads each (%d Deployments, %d StatefulSets, a DaemonSet, a CronJob), each with %d pods, %d at a time",
			defaultAuditNamespaces, len(auditKinds), kinds["Deployment"], kinds["StatefulSet"], podsPerWorkload, auditCreators),
		fmt.Sprintf("That is %s workloads, %s pods", testutil.Thousands(workloads), testutil.Thousands(workloads*podsPerWorkload)),
		fmt.Sprintf("each image is in %s workloads", map[int]string{1: "one", 2: "two", 3: "three"}[workloads/defaultAuditImages]),
		fmt.Sprintf("pages of %d (`inventory.DefaultChunkSize`)", inventory.DefaultChunkSize),
		fmt.Sprintf("a %s-pod cluster", testutil.Thousands(workloads*podsPerWorkload)),
	} {
		if !strings.Contains(prose, phrase) {
			t.Errorf("test/bench/README.md does not say %q, which is what the harness does", phrase)
		}
	}
	if kinds["DaemonSet"] != 1 || kinds["CronJob"] != 1 || len(kinds) != 4 {
		t.Errorf("the audit's workloads per namespace are %v; README.md says 6 Deployments, 2 StatefulSets, a DaemonSet, a CronJob", kinds)
	}

	// auditrun's own defaults, read from its source (a main package).
	auditrun := string(testutil.ReadFile(t, "auditrun/main.go"))
	for phrase, source := range map[string]string{
		"client-side limit 100 requests/s (auditrun's `-qps`)": `flag.Float64("qps", 100,`,
		"the largest Go heap sampled every 20 ms":              "time.NewTicker(20 * time.Millisecond)",
	} {
		if !strings.Contains(prose, phrase) || !strings.Contains(auditrun, source) {
			t.Errorf("README.md says %q; auditrun/main.go must hold %q", phrase, source)
		}
	}
}

// citation is how README.md cites a run: RESULTS.md and the heading of
// its section in curly quotes.
var citation = regexp.MustCompile(`RESULTS\.md, “([^”]+)”`)

// A claim of README.md: the phrase that states a number, the RESULTS.md
// section the first citation after it names, and what that section
// shows, verbatim.
type runClaim struct {
	phrase, section string
	shows           []string
}

const (
	load96648fb     = "`make bench-load`, 2026-12-01, commit `96648fb`"
	api96648fb      = "`make bench-apiserver` before and after the decision line written without reflection, paired, 2026-12-01, commit `96648fb`"
	apiD0c1388      = "`make bench-apiserver`, 2026-12-01, commits `d0c1388` (runs 1, 2) and `78659f6` (run 3), the strata of `f5217d7`"
	audit493d4c9    = "`make bench-audit`, 2026-11-30, quiet at the start, then shared with four helpers starting (load average 4.80 after), commit `493d4c9`"
	fullQuiet       = "Full-size memory scenario, 2026-11-30, quiet machine, historical (commit `b144ba1`)"
	fullShared      = "Full-size memory scenario, 2026-11-30, shared machine (load average 20–25), historical (commit `1f7f543`)"
	fullGOGC        = "Full-size memory scenario with `GOGC` 400, 2026-11-30, shared machine (the lead's benchmarks paused), commit `aab708d`"
	apiTwoRuns      = "`make bench-apiserver`, 2026-11-30, quiet machine, two runs, commit `49ec4b0`, historical"
	apiPinAlways    = "`make bench-apiserver`, 2026-11-30, quiet machine (load average 1.31 before), historical (commit `6523147`)"
	loadCPUColumn   = 8 // loadgen CPU / req. in make bench-load's table
	apiScenarioCell = 2 // scenario in make bench-apiserver's table
)

var runClaims = []runClaim{
	{"`make bench-load` 1m37.129s", load96648fb, []string{"real\t1m37.129s"}},
	{"4m33.016s, 4m32.029s and 4m36.261s with `BENCH_API_BASELINE`", api96648fb, []string{"BENCH_API_BASELINE", "real\t4m33.016s", "real\t4m32.029s", "real\t4m36.261s"}},
	{"3m59.031s and 4m1.184s without it", apiD0c1388, []string{"`time make bench-apiserver`: real 3m59.031s", "`time make bench-apiserver`: real 4m1.184s"}},
	{"go test gave `TestAudit` 86.74s", audit493d4c9, []string{"--- PASS: TestAudit (86.74s)"}},
	{"72–210 µs of CPU per request in the floor and warm rows", load96648fb, nil}, // the column's range, below
	{"took real 5m24.927s on a quiet machine", fullQuiet, []string{"BENCH_COLD_N=100000", "real 5m24.927s, pushing included"}},
	{"pushing alone took 12 min 17 s and the run 1,495 s", fullShared, []string{"Pushing took 12 min 17 s; the run 1,495 s", "-timeout 60m"}},
	{"splits its resident set into anonymous memory", fullGOGC, []string{"garbage collections in", "(anonymous ", "kB, file "}},
	{"differed by up to 0.17 in one ratio", apiTwoRuns, []string{"differ by up to 0.17 in a ratio"}},
	{"The pin without its match conditions, measured in", apiPinAlways, []string{"| strata enforce + pin, no match conditions |"}},
	{"1.00, not 2.00, for a Pod by digest in strata enforce + pin", api96648fb, []string{"| Pod by digest | 4 | strata enforce + pin | 1.00 |", "| Pod | 4 | strata enforce + pin | 2.00 |"}},
	{"13 scenario and kind pairs, 26 rows", api96648fb, nil}, // counted below
	{"10,000 pods, 13,400 objects", audit493d4c9, []string{"created 13400 objects (2000 workloads, 10000 pods) in 200 namespaces"}},
	{"the targets (≤ 60 s, ≤ 2 registry requests per distinct image on a cold cache, RSS ≤ 256 MiB)", audit493d4c9, []string{"(target ≤ 60 s)", "(target ≤ 2)", "(target ≤ 256 MiB)"}},
}

// resultsTables are the Markdown tables of a RESULTS.md section, in order
// (also those indented in a log), each its data rows' cells: a table's
// rows are its lines that start with "|", cells split at " | ".
func resultsTables(section string) [][][]string {
	var tables [][][]string
	var rows [][]string
	end := func() {
		if len(rows) > 2 {
			tables = append(tables, rows[2:])
		}
		rows = nil
	}
	for _, line := range strings.Split(section, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "|") {
			rows = append(rows, strings.Split(strings.Trim(line, "| "), " | "))
		} else {
			end()
		}
	}
	end()
	return tables
}

// Each number test/bench/README.md takes from a run is followed by a
// citation of the RESULTS.md section that holds the run, and the section
// shows it: a rerun that changes RESULTS.md without the README, or a
// number with no run behind it, fails here. Every citation names a section
// that exists, and every time `time` printed (1m39.165s) is one of the
// claims.
func TestBenchReadmeNumbersAreFromTheRunsItCites(t *testing.T) {
	t.Parallel()
	prose := testutil.DocProse(t, "README.md")
	sections := map[string]string{}
	for _, m := range citation.FindAllStringSubmatch(prose, -1) {
		if _, ok := sections[m[1]]; !ok {
			sections[m[1]] = testutil.DocSection(t, "RESULTS.md", "## "+m[1]+"\n")
		}
	}
	cited := map[string]bool{}
	for _, c := range runClaims {
		at := strings.Index(prose, c.phrase)
		if at < 0 {
			t.Errorf("README.md no longer says %q", c.phrase)
			continue
		}
		next := citation.FindStringSubmatch(prose[at:])
		if next == nil || next[1] != c.section {
			t.Errorf("README.md's %q is followed by the citation %q, want RESULTS.md, “%s”", c.phrase, next, c.section)
			continue
		}
		cited[c.section] = true
		for _, s := range c.shows {
			if !strings.Contains(sections[c.section], s) {
				t.Errorf("README.md says %q, citing RESULTS.md, “%s”, which does not show %q", c.phrase, c.section, s)
			}
		}
	}
	for s := range sections {
		if !cited[s] {
			t.Errorf("README.md cites RESULTS.md, “%s” for no claim this test checks", s)
		}
	}
	timing := regexp.MustCompile(`\b\d+m\d+\.\d+s\b|\b\d+\.\d+s\b`)
	for _, tm := range timing.FindAllString(prose, -1) {
		if !slices.ContainsFunc(runClaims, func(c runClaim) bool { return strings.Contains(c.phrase, tm) }) {
			t.Errorf("README.md states the time %s, which no claim ties to a run", tm)
		}
	}

	// The load generator's CPU per request in the floor and warm rows.
	lo, hi := 1<<30, 0
	for _, row := range resultsTables(sections[load96648fb])[0] {
		if !strings.HasPrefix(row[0], "no-op floor") && !strings.HasPrefix(row[0], "warm") {
			continue
		}
		us, err := strconv.Atoi(strings.TrimSuffix(row[loadCPUColumn], "µs"))
		if err != nil {
			t.Fatalf("RESULTS.md, “%s”: loadgen CPU %q: %v", load96648fb, row[loadCPUColumn], err)
		}
		lo, hi = min(lo, us), max(hi, us)
	}
	if want := fmt.Sprintf("%d–%d µs of CPU per request in the floor and warm rows", lo, hi); !strings.Contains(prose, want) {
		t.Errorf("README.md does not say %q, the range of RESULTS.md, “%s”", want, load96648fb)
	}

	// The rows and scenario-kind pairs of a run without the baseline.
	pairs := map[string]bool{}
	var rows int
	for _, row := range resultsTables(sections[api96648fb])[0] {
		if strings.Contains(row[apiScenarioCell], "baseline binary") {
			continue
		}
		rows++
		pairs[row[0]+"/"+row[apiScenarioCell]] = true
	}
	for _, want := range []string{
		fmt.Sprintf("%d scenario and kind pairs, %d rows", len(pairs), rows),
		fmt.Sprintf("%d rows of %s, each in %d interleaved slices", rows, proseSeconds(defaultAPIDuration), defaultAPIRounds),
		fmt.Sprintf("(%d such rows)", rows),
	} {
		if !strings.Contains(prose, want) {
			t.Errorf("README.md does not say %q, what RESULTS.md, “%s” measured", want, api96648fb)
		}
	}
}

// The targets test/bench/README.md names run the tests it describes, with
// the loadtest tag, and none is part of make test.
func TestBenchReadmeTargetsAreTheMakefiles(t *testing.T) {
	t.Parallel()
	makefile := string(testutil.ReadFile(t, "../../Makefile"))
	prose := testutil.DocProse(t, "README.md")
	for target, test := range map[string]string{"bench-load": "TestLoad", "bench-apiserver": "TestAPIServer", "bench-audit": "TestAudit"} {
		recipe := regexp.MustCompile(`(?m)^` + target + `:.*\n\t(.*)`).FindStringSubmatch(makefile)
		if recipe == nil || !strings.Contains(recipe[1], "-tags loadtest -run '"+test+"$$'") || !strings.Contains(recipe[1], "./test/bench") {
			t.Errorf("the Makefile's %s runs %q, want go test -tags loadtest -run '%s$' ./test/bench", target, recipe, test)
		}
		if !strings.Contains(prose, "make "+target) || !strings.Contains(prose, "`"+test+"`") && target != "bench-load" {
			t.Errorf("README.md does not describe make %s with %s", target, test)
		}
	}
	test := regexp.MustCompile(`(?m)^test:(.*?)##`).FindStringSubmatch(makefile)
	if test == nil || strings.Contains(test[1], "bench") {
		t.Errorf("the Makefile's test target is %q, want one without the benchmarks, as README.md says", test)
	}
	if !strings.Contains(prose, "None is part of `make test`") {
		t.Error("README.md no longer says the benchmarks are not part of make test")
	}
	for _, tool := range []string{"kube-apiserver", "etcd"} {
		prereq := regexp.MustCompile(`(?m)^bench-apiserver:([^#]*)`).FindStringSubmatch(makefile)
		if prereq == nil || !strings.Contains(prereq[1], "$(TOOLS_BIN)/"+tool) {
			t.Errorf("make bench-apiserver does not build %s first, which README.md says it does", tool)
		}
	}
	if _, err := os.Stat("../tools/go.mod"); err != nil {
		t.Errorf("README.md builds kube-apiserver and etcd from the tools module: %v", err)
	}
}

// test/bench/README.md's table of make bench-apiserver's scenarios is what
// the run it cites measured: each scenario for the kinds the table gives,
// through the webhooks it names, on the paths it names (the wire table's
// answers by path).
func TestBenchReadmeScenariosAreTheRunsScenarios(t *testing.T) {
	t.Parallel()
	tables := resultsTables(testutil.DocSection(t, "RESULTS.md", "## "+api96648fb+"\n"))
	if len(tables) < 4 {
		t.Fatalf("RESULTS.md, “%s”: %d tables, want three runs and the wire table", api96648fb, len(tables))
	}
	runs, wire := tables[0], tables[3]
	const webhookCalls, answerPaths = 11, 7
	allKinds := []string{"Pod", "Pod by digest", "Deployment"}
	backquoted := regexp.MustCompile("`([^`]+)`")
	for _, cells := range testutil.DocTable(t, "README.md", "### The scenarios\n")[2:] {
		scenario, hook, measured := cells[0], cells[2], strings.Split(cells[3], ", ")
		if cells[3] == "every kind" {
			measured = allKinds
		}
		var kinds []string
		var calls, paths string
		for _, row := range runs {
			if row[apiScenarioCell] == scenario && !slices.Contains(kinds, row[0]) {
				kinds = append(kinds, row[0])
			}
			if row[apiScenarioCell] == scenario {
				calls += row[webhookCalls] + " "
			}
		}
		for _, row := range wire {
			if row[apiScenarioCell] == scenario {
				paths += row[answerPaths] + " "
			}
		}
		if !slices.Equal(kinds, measured) {
			t.Errorf("README.md measures %q for %v; the run measured it for %v", scenario, measured, kinds)
		}
		for _, m := range backquoted.FindAllStringSubmatch(hook, -1) {
			switch name := m[1]; {
			case strings.HasSuffix(name, ".strata.dev") && !strings.Contains(calls, name+": "):
				t.Errorf("README.md's %q calls %s, which the run's rows of it do not name: %s", scenario, name, calls)
			case strings.HasPrefix(name, "/") && !strings.Contains(paths, name+" "):
				t.Errorf("README.md's %q answers on %s; the run's wire table shows %s", scenario, name, paths)
			}
		}
	}
}

// test/bench/README.md's fixtures are what the files hold: the warm pod a
// ReplicaSet's, of three containers on the images it names, the cold pod
// of one container; and the ratio interval resamples as often as it says.
func TestBenchReadmeFixturesAreTheFiles(t *testing.T) {
	t.Parallel()
	prose := testutil.DocProse(t, "README.md")
	var pod struct {
		Request struct {
			Object struct {
				Metadata struct {
					OwnerReferences []struct{ Kind string } `json:"ownerReferences"`
				} `json:"metadata"`
				Spec struct {
					Containers []struct{ Image string } `json:"containers"`
				} `json:"spec"`
			} `json:"object"`
		} `json:"request"`
	}
	counts := map[int]string{1: "one container", 3: "three containers"}
	for file, phrase := range map[string]string{
		"warm-pod.json": "| `testdata/warm-pod.json` | a %s pod as a validating webhook receives it (managedFields, ownerReferences, probes, the service-account volume): %s, %s |",
		"cold-pod.json": "| `testdata/cold-pod.json` | the same kind of pod with %[2]s, whose image the load generator replaces |",
	} {
		if err := json.Unmarshal(testutil.ReadFile(t, filepath.Join("testdata", file)), &pod); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		o := pod.Request.Object
		var images []string
		for i, c := range o.Spec.Containers {
			if i > 0 {
				c.Image = strings.TrimPrefix(c.Image, "strata-demo.local/")
			}
			images = append(images, "`"+c.Image+"`")
		}
		owner := ""
		if len(o.Metadata.OwnerReferences) == 1 {
			owner = o.Metadata.OwnerReferences[0].Kind
		}
		want := fmt.Sprintf(phrase, owner, counts[len(images)], strings.Join(images, ", "))
		if !strings.Contains(prose, want) {
			t.Errorf("README.md does not say %q, what testdata/%s holds", want, file)
		}
	}
	if want := fmt.Sprintf("%s times (seeded)", testutil.Thousands(resamples)); !strings.Contains(prose, want) {
		t.Errorf("README.md does not say %q: ratioInterval draws %d", want, resamples)
	}
}
