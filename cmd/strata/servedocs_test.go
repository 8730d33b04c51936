package main

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// The listeners docs/serving.md and docs/mtls.md name are serve's flags
// with their defaults, and the command line docs/mtls.md shows is one serve
// takes: a renamed flag or a moved default fails here.
func TestServingAndMTLSDocsStateServesFlags(t *testing.T) {
	t.Parallel()
	fs := newServeCommand(io.Discard, io.Discard).Flags()
	def := func(name string) string {
		f := fs.Lookup(name)
		if f == nil {
			t.Fatalf("serve has no flag --%s", name)
		}
		return f.DefValue
	}
	serving := testutil.DocProse(t, "../../docs/serving.md")
	for _, flag := range []string{"addr", "health-addr"} {
		if want := "(`--" + flag + "`, `" + def(flag) + "`"; !strings.Contains(serving, want) {
			t.Errorf("docs/serving.md does not say %q, serve's flag and its default", want)
		}
	}
	// The caps' defaults are the limits table's (TestServingDocumentStatesTheDefaultLimits).
	for flag, chart := range map[string]string{"max-connections": "connections.webhook", "health-max-connections": "connections.health"} {
		if want := "(`--" + flag + "`, chart `" + chart + "`)"; def(flag) == "" || !strings.Contains(serving, want) {
			t.Errorf("docs/serving.md does not say %q, serve's flag", want)
		}
	}
	mtls := testutil.DocProse(t, "../../docs/mtls.md")
	port := strings.TrimPrefix(def("addr"), ":")
	for _, want := range []string{"webhook port (" + port + ")", "port " + port + " from `networkPolicy.controlPlaneCIDRs`", "port " + strings.TrimPrefix(def("health-addr"), ":") + " (health, metrics)"} {
		if !strings.Contains(mtls, want) {
			t.Errorf("docs/mtls.md does not say %q, from serve's listeners' defaults", want)
		}
	}
	line := regexp.MustCompile("```\nstrata (serve [^\n]*)\n```").FindStringSubmatch(string(testutil.ReadFile(t, "../../docs/mtls.md")))
	if line == nil {
		t.Fatal("docs/mtls.md shows no strata serve command line")
	}
	if err := fs.Parse(strings.Fields(line[1])[1:]); err != nil {
		t.Errorf("docs/mtls.md: strata %s: %v", line[1], err)
	}
	for _, flag := range []string{"cert-dir", "client-ca", "client-cn"} {
		if !fs.Changed(flag) {
			t.Errorf("docs/mtls.md: strata %s does not set --%s", line[1], flag)
		}
	}
}

// Every strata command line docs/{pinning,troubleshooting,serving,
// policy-reports,mtls}.md quote inline is a command strata has, with flags
// it takes: a renamed command or flag fails here, not in a reader's shell.
func TestDocsQuoteOnlyCommandsStrataHas(t *testing.T) {
	t.Parallel()
	quoted := regexp.MustCompile("`strata ([^`]+)`")
	var checked int
	for _, doc := range []string{"pinning", "troubleshooting", "serving", "policy-reports", "mtls"} {
		for _, m := range quoted.FindAllStringSubmatch(testutil.DocProse(t, "../../docs/"+doc+".md"), -1) {
			checked++
			root := newRootCommand(strings.NewReader(""), io.Discard, io.Discard)
			cmd, rest, err := root.Find(strings.Fields(m[1]))
			if err != nil || cmd == root {
				t.Errorf("docs/%s.md quotes strata %s: no such command (%v)", doc, m[1], err)
				continue
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("docs/%s.md quotes strata %s: %v", doc, m[1], err)
			}
		}
	}
	if checked < 10 {
		t.Errorf("found %d quoted strata commands, want the dozen these documents quote: is the pattern still right?", checked)
	}
}

// docs/policy-reports.md's audit flags are audit's: the report API it
// calls the default is --report-api's default, --qps's default is the
// writer's, and -n, -A and -l select what it says they select.
func TestPolicyReportsDocStatesAuditsFlags(t *testing.T) {
	t.Parallel()
	root := newRootCommand(strings.NewReader(""), io.Discard, io.Discard)
	audit, _, err := root.Find([]string{"audit"})
	if err != nil {
		t.Fatal(err)
	}
	fs := audit.Flags()
	doc := testutil.DocProse(t, "../../docs/policy-reports.md")
	if want := "| `" + fs.Lookup("report-api").DefValue + "` (default) |"; !strings.Contains(doc, want) {
		t.Errorf("docs/policy-reports.md does not say %q, --report-api's default", want)
	}
	if want := "`--qps` (default " + fs.Lookup("qps").DefValue + " calls per second"; !strings.Contains(doc, want) {
		t.Errorf("docs/policy-reports.md does not say %q, --qps's default", want)
	}
	for _, short := range []string{"n", "A", "l"} {
		if fs.ShorthandLookup(short) == nil && audit.InheritedFlags().ShorthandLookup(short) == nil {
			t.Errorf("docs/policy-reports.md names audit's -%s, which audit does not take", short)
		}
	}
}
