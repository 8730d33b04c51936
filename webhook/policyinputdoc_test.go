package webhook

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/policy-input.md names the keys of policies.data that strata config
// validate checks as whole numbers, whose non-numbers the policies replace
// by their defaults: they are the keys checkPatternData checks, no more
// and no fewer.
func TestPolicyInputMdNamesTheKeysConfigValidateChecksAsNumbers(t *testing.T) {
	t.Parallel()
	prose := testutil.DocProse(t, "../docs/policy-input.md")
	_, sentence, ok := strings.Cut(prose, "The keys checked as numbers, ")
	if !ok {
		t.Fatal(`docs/policy-input.md has no sentence "The keys checked as numbers, …"`)
	}
	sentence, _, _ = strings.Cut(sentence, ", are whole numbers")
	var named []string
	for _, m := range regexp.MustCompile("`([A-Za-z]+)`").FindAllStringSubmatch(sentence, -1) {
		named = append(named, m[1])
	}
	checked := slices.Clone(patternSizeKeys)
	slices.Sort(named)
	slices.Sort(checked)
	if !slices.Equal(named, checked) {
		t.Errorf("docs/policy-input.md names %v as the keys checked as numbers; strata config validate checks %v", named, checked)
	}
}
