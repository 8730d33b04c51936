package webhook

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/policy"
)

// Each "**`[id]`**" entry of docs/troubleshooting.md's policy section names
// a violation strata reports: a built-in policy (policies/<id>.rego) or one
// the Go code reports. A message it quotes is one the policy's sprintf
// formats can print (a verb stands for any value, as the document's "…"
// does), and each data key it names in backquotes (a camel-case word that
// is no field of the policy input) is one that policy reads: a reworded
// message or a renamed key fails here.
func TestTroubleshootingPolicySectionNamesWhatThePoliciesSay(t *testing.T) {
	t.Parallel()
	section, _, _ := strings.Cut(testutil.DocSection(t, "../docs/troubleshooting.md", "## A policy says something\n"), "\n\n")
	entry := regexp.MustCompile("(?s)^`\\[([a-z-]+)\\]`\\*\\*(.*)$")
	goReported := map[string]bool{policy.PolicyError: true, InvalidObject: true, UnpinnedImage: true}
	verb := regexp.MustCompile(`%[sqdv]`)
	format := regexp.MustCompile("(?s)sprintf\\(\\s*\"((?:[^\"\\\\]|\\\\.)*)\"")
	dataKey := regexp.MustCompile("`(?:policies\\.data\\.)?([a-z][A-Za-z]+)`")
	seen := map[string]bool{}
	inputFields := string(testutil.ReadFile(t, "../policies/input.schema.json"))
	for _, item := range strings.Split(section, "\n- **")[1:] {
		e := entry.FindStringSubmatch(item)
		if e == nil {
			t.Errorf("docs/troubleshooting.md: the entry %q names no violation", item)
			continue
		}
		id, text := e[1], e[2]
		seen[id] = true
		src, err := os.ReadFile("../policies/" + strings.ReplaceAll(id, "-", "_") + ".rego")
		if err != nil {
			if !goReported[id] {
				t.Errorf("docs/troubleshooting.md explains [%s], which is neither a built-in policy nor a violation Go reports", id)
			}
			continue
		}
		var printable []string
		for _, f := range format.FindAllStringSubmatch(string(src), -1) {
			printable = append(printable, verb.ReplaceAllString(strings.ReplaceAll(f[1], `\"`, `"`), "sha256:…"))
		}
		for _, q := range regexp.MustCompile("`([^`]*)`").FindAllStringSubmatch(text, -1) {
			if !strings.Contains(q[1], "…") {
				continue
			}
			parts := strings.Split(q[1], "…")
			for i := range parts {
				parts[i] = regexp.QuoteMeta(strings.TrimSpace(parts[i]))
			}
			quoted := regexp.MustCompile(strings.Join(parts, ".*"))
			if !anyMatches(quoted, printable) {
				t.Errorf("docs/troubleshooting.md quotes [%s] saying %q, which none of policies/%s.rego's messages can print", id, q[1], strings.ReplaceAll(id, "-", "_"))
			}
		}
		for _, k := range dataKey.FindAllStringSubmatch(text, -1) {
			if strings.ToLower(k[1]) == k[1] || strings.Contains(inputFields, `"`+k[1]+`":`) {
				continue // a value, or a field of the policy input, not a data key
			}
			if !regexp.MustCompile(`data\.strata\.config\.` + k[1] + `\b`).Match(src) {
				t.Errorf("docs/troubleshooting.md says [%s] reads %s, which policies/%s.rego does not read", id, k[1], strings.ReplaceAll(id, "-", "_"))
			}
		}
	}
	if len(seen) < 10 {
		t.Errorf("docs/troubleshooting.md explains %d violations, want the built-in policies' and Go's: is the pattern still right?", len(seen))
	}
}

func anyMatches(re *regexp.Regexp, ss []string) bool {
	for _, s := range ss {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// The resolution budget docs/troubleshooting.md states is the default.
func TestTroubleshootingStatesTheResolutionBudget(t *testing.T) {
	t.Parallel()
	want := fmt.Sprintf("(`registry.timeout`, %d s by default;", DefaultResolveBudget/time.Second)
	if !strings.Contains(testutil.DocProse(t, "../docs/troubleshooting.md"), want) {
		t.Errorf("docs/troubleshooting.md does not say %q, the default budget", want)
	}
}
