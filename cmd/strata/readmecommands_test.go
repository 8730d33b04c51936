package main

import (
	"context"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/policies"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/policy"
)

// makeTarget is the prerequisites and recipe lines of target in the
// Makefile at path.
func makeTarget(t *testing.T, makefile, target string) (prereqs []string, recipe string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:([^#\n]*)(?:##[^\n]*)?\n((?:\t[^\n]*\n)*)`).FindStringSubmatch(makefile)
	if m == nil {
		t.Fatalf("the Makefile has no target %s", target)
	}
	return strings.Fields(m[1]), m[2]
}

// README.md's "Two commands" are the Makefile's: make test runs lint (gofmt,
// go vet, opa fmt, check and test), the unit tests with the race detector
// (the chart's with the real helm among them), the end-to-end suite and the
// browser tests; it builds opa and the four tools into test/tools/bin and
// installs docker-registry and chromium; CI runs make test. make run
// inspects every demo image, writes the demo's graph.html into a temporary
// directory and prints its path, then serves the demo with --dev and
// --graph, on the addresses README.md gives.
func TestReadmeTwoCommandsAreTheMakefiles(t *testing.T) {
	makefile := string(testutil.ReadFile(t, "../../Makefile"))
	prose := testutil.DocProse(t, "../../README.md")
	section := testutil.DocSection(t, "../../README.md", "## Two commands\n")

	test, _ := makeTarget(t, makefile, "test")
	if want := []string{"lint", "unit", "e2e", "browser"}; !slices.Equal(test, want) {
		t.Errorf("make test runs %v, README.md describes %v", test, want)
	}
	_, lint := makeTarget(t, makefile, "lint")
	unitDeps, unit := makeTarget(t, makefile, "unit")
	_, tools := makeTarget(t, makefile, "tools")
	toolDeps, _ := makeTarget(t, makefile, "tools")
	_, e2eDeps := makeTarget(t, makefile, "e2e-deps")
	_, browserDeps := makeTarget(t, makefile, "browser-deps")
	_, browser := makeTarget(t, makefile, "browser")
	ci := string(testutil.ReadFile(t, "../../.ci/run"))
	for _, c := range []struct {
		readme, in, want string
	}{
		{"lint (gofmt, go vet, staticcheck, opa fmt/check/test)", lint, "gofmt -l"},
		{"lint (gofmt, go vet, staticcheck, opa fmt/check/test)", lint, "$(GO) vet"},
		{"lint (gofmt, go vet, staticcheck, opa fmt/check/test)", lint, "$(STATICCHECK) -tags"},
		{"lint (gofmt, go vet, staticcheck, opa fmt/check/test)", lint, "$(OPA) fmt"},
		{"lint (gofmt, go vet, staticcheck, opa fmt/check/test)", lint, "$(OPA) check"},
		{"lint (gofmt, go vet, staticcheck, opa fmt/check/test)", lint, "$(OPA) test"},
		{"the unit tests with the race detector", unit, "test -race"},
		{"(the Helm chart's among them, with the real `helm`)", strings.Join(unitDeps, " "), "$(TOOLS_BIN)/helm"},
		{"into `test/tools/bin`", strings.Join(toolDeps, " "), "$(TOOLS_BIN)/kube-apiserver $(TOOLS_BIN)/kubectl $(TOOLS_BIN)/etcd $(TOOLS_BIN)/helm"},
		{"installs Debian's `docker-registry` for the end-to-end suite", e2eDeps, "apt-get install -y -qq docker-registry"},
		{"`chromium` for the browser tests", browserDeps, "apt-get install -y -qq chromium"},
		{"the graph page in headless chromium", browser, "-tags browser"},
		{"`bash .ci/run` is what CI runs on a fresh machine", ci, "\nmake test\n"},
	} {
		if !strings.Contains(prose, c.readme) || !strings.Contains(c.in, c.want) {
			t.Errorf("README.md says %q; the Makefile (or .ci/run) must hold %q", c.readme, c.want)
		}
	}
	if tools != "" {
		t.Errorf("make tools has a recipe of its own %q: README.md says it builds the four binaries, its prerequisites", tools)
	}
	for _, tool := range []string{"OPA", "STATICCHECK"} {
		if !strings.Contains(makefile, "$("+tool+"):\n\tGOBIN=") || !strings.Contains(prose, "`make test` builds what it needs from the Go module proxy — `opa`, `staticcheck`") {
			t.Errorf("README.md says make test builds opa and staticcheck from the Go module proxy; the Makefile's $(%s) target must install it", tool)
		}
	}

	// make run, as the section shows and describes it.
	_, run := makeTarget(t, makefile, "run")
	for _, cmd := range []string{
		"$(GO) run ./cmd/strata inspect --demo\n",
		"$(GO) run ./cmd/strata graph --demo -o html > $$tmp/graph.html",
		"$(GO) run ./cmd/strata serve --dev --demo --graph\n",
	} {
		if !strings.Contains(run, cmd) {
			t.Errorf("make run does not run %q, which README.md describes", cmd)
		}
	}
	if !strings.Contains(run, "tmp=$$(mktemp -d)") || !strings.Contains(run, "echo \"The demo's graph") || !strings.Contains(section, "make run    # strata on the built-in demo") {
		t.Errorf("make run = %q: README.md says the graph goes to a temporary directory, its path printed", run)
	}
	_, port, _ := net.SplitHostPort(devAddr)
	_, healthPort, _ := net.SplitHostPort(devHealthAddr)
	for _, phrase := range []string{
		"(named `" + demo.Host + "`)",
		"serves the webhook on `https://localhost:" + port + "`",
		"`http://localhost:" + healthPort + "/graph`",
		"(`" + devAddr + "` and `" + devHealthAddr + "`)",
	} {
		if !strings.Contains(prose, phrase) {
			t.Errorf("README.md does not say %q, which is what make run does", phrase)
		}
	}
	// What serve prints for the newcomer: the curl line README.md posts,
	// and the graph's address.
	s := startServe(t, "--dev", "--demo", "--graph")
	_, hport, _ := net.SplitHostPort(s.healthAddr)
	_, wport, _ := net.SplitHostPort(s.addr)
	for _, want := range []string{
		"curl -sk -H 'Content-Type: application/json' --data @examples/admission/root-pod.json https://localhost:" + wport + "/validate/enforce",
		"The graph of what it has reviewed: http://localhost:" + hport + "/graph",
	} {
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("strata serve --dev --demo --graph does not print %q; stderr:\n%s", want, s.stderr.String())
		}
	}
}

// README.md's table of policies is the built-in set: its ids, and the
// default action of each; approved-base is inactive while approvedBases is
// empty because it requires it.
func TestReadmePoliciesAreTheBuiltins(t *testing.T) {
	e, err := policy.New(context.Background(), policy.Options{Builtins: policies.FS})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, cells := range testutil.DocTable(t, "../../README.md", "## Policies\n")[2:] {
		documented[strings.Trim(cells[0], "`")] = cells[2]
	}
	builtin := map[string]string{}
	for _, m := range e.Policies() {
		builtin[m.ID] = string(m.Action)
		if m.ID == "approved-base" && !slices.Contains(m.Requires, "approvedBases") {
			t.Errorf("approved-base requires %v; README.md says it is inactive while approvedBases is empty", m.Requires)
		}
	}
	if len(documented) != len(builtin) {
		t.Errorf("README.md's policies table lists %v; the built-ins are %v", documented, builtin)
	}
	for id, action := range builtin {
		if documented[id] != action {
			t.Errorf("README.md gives %s the default action %q; its METADATA says %q", id, documented[id], action)
		}
	}
}

// README.md's serving bullet gives the listeners' default ports: they are
// strata serve's flag defaults, as its help prints them.
func TestReadmeServingListenersAreServesDefaults(t *testing.T) {
	var stdout, stderr strings.Builder
	runWithStdin(t.Context(), []string{"serve", "--help"}, strings.NewReader(""), &stdout, &stderr)
	help := stdout.String() + stderr.String()
	prose := testutil.DocProse(t, "../../README.md")
	for flag, phrase := range map[string]string{
		"addr":        "TLS ≥ 1.2 on `%s`",
		"health-addr": "`/healthz`, `/readyz`, `/metrics` on `%s`",
	} {
		m := regexp.MustCompile(`--` + flag + ` string .*\(default "([^"]+)"\)`).FindStringSubmatch(help)
		if m == nil {
			t.Fatalf("strata serve --help gives no default for --%s:\n%s", flag, help)
		}
		if want := strings.Replace(phrase, "%s", m[1], 1); !strings.Contains(prose, want) {
			t.Errorf("README.md does not say %q: --%s defaults to %s", want, flag, m[1])
		}
	}
}

// Every path of README.md's Layout table and every file it links to
// exists.
func TestReadmeLayoutAndLinksExist(t *testing.T) {
	raw := string(testutil.ReadFile(t, "../../README.md"))
	var paths []string
	for _, cells := range testutil.DocTable(t, "../../README.md", "## Layout\n")[2:] {
		paths = append(paths, strings.Trim(cells[0], "`"))
	}
	for _, m := range regexp.MustCompile(`\]\(([^)#:]+)\)`).FindAllStringSubmatch(raw, -1) {
		paths = append(paths, m[1])
	}
	if len(paths) < 30 {
		t.Fatalf("found %d paths in README.md's Layout table and links, want the forty or so it has", len(paths))
	}
	for _, p := range paths {
		if _, err := os.Stat("../../" + p); err != nil {
			t.Errorf("README.md names %s: %v", p, err)
		}
	}
}

// The flags README.md's tour and serving bullet name are the flags of the
// commands it names them for, as each command's help lists them.
func TestReadmeFlagsAreTheCommands(t *testing.T) {
	prose := testutil.DocProse(t, "../../README.md")
	listed := regexp.MustCompile(`(?m)^\s+(?:(-[a-zA-Z]), )?(--[a-z-]+)`)
	for cmd, flags := range map[string][]string{
		"inspect":         {"--platform", "-o", "--insecure", "--pod", "--demo"},
		"check":           {"-f", "--filename", "-o", "--output", "--mode", "-n", "--config", "--max-file-bytes", "--max-total-bytes"},
		"audit":           {"-A", "--write-reports", "--report-api", "--kubeconfig", "--context"},
		"graph":           {"--uses", "-f", "--demo", "-o"},
		"serve":           {"--notify", "--graph", "--dev", "--cert-dir", "--addr", "--health-addr", "--config", "--kubeconfig", "--context"},
		"config validate": {"-f", "--strict", "--offline"},
		"policy test":     {"-v", "--coverage", "--config"},
		"version":         {"-o"},
	} {
		var stdout, stderr strings.Builder
		runWithStdin(t.Context(), append(strings.Fields(cmd), "--help"), strings.NewReader(""), &stdout, &stderr)
		have := map[string]bool{}
		for _, m := range listed.FindAllStringSubmatch(stdout.String()+stderr.String(), -1) {
			have[m[1]], have[m[2]] = true, true
		}
		for _, f := range flags {
			if !regexp.MustCompile("[ `/[]" + regexp.QuoteMeta(f) + "[ `=|]").MatchString(prose) {
				t.Errorf("README.md no longer names %s for strata %s", f, cmd)
			}
			if !have[f] {
				t.Errorf("README.md names %s for strata %s, whose help does not list it", f, cmd)
			}
		}
	}
}
