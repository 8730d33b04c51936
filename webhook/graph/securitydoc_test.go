package graph

import (
	"regexp"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/security.md class 19 states which characters a Mermaid label keeps
// as they are: every other is written as an entity. Each character up to
// U+017F, and a few beyond, is kept exactly when the document's set holds it.
func TestSecurityDocStatesTheCharactersMermaidLabelsKeep(t *testing.T) {
	t.Parallel()
	set := testutil.DocMatch(t, "../../docs/security.md", "Mermaid labels write every character outside `\\[([^`]*)\\]` as an entity")[1]
	kept := func(r rune) bool {
		// The set's ranges are the ones between two letters or two digits;
		// any other '-' is itself.
		for _, rg := range regexp.MustCompile(`[A-Za-z0-9]-[A-Za-z0-9]`).FindAllString(set, -1) {
			if r >= rune(rg[0]) && r <= rune(rg[2]) {
				return true
			}
		}
		return strings.ContainsRune(regexp.MustCompile(`[A-Za-z0-9]-[A-Za-z0-9]`).ReplaceAllString(set, ""), r)
	}
	runes := []rune{'\u2028', '\u202e', '\u00a0', '\ufeff', '\U0001f600'}
	for r := rune(0); r <= 0x17f; r++ {
		runes = append(runes, r)
	}
	for _, r := range runes {
		if got := mermaidText(string(r)) == string(r); got != kept(r) {
			t.Errorf("mermaidText(%q) keeps it: %v; docs/security.md's set [%s] says %v", r, got, set, kept(r))
		}
	}
}
