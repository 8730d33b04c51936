package policy

import (
	"regexp"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// The user policy docs/policy-input.md shows importing data.strata.lib is
// the one TestUserPolicyImportsTheLibrary loads and evaluates, byte for
// byte: an edit to either fails here.
func TestPolicyInputMdLibraryExampleIsTheOneTheTestsRun(t *testing.T) {
	t.Parallel()
	doc, tests := testutil.ReadFile(t, "../../docs/policy-input.md"), testutil.ReadFile(t, "lib_test.go")
	shown := regexp.MustCompile("(?s)```rego\n(package strata.policies.no_latest\n.*?)```").FindSubmatch(doc)
	if shown == nil {
		t.Fatal("docs/policy-input.md shows no rego block of package strata.policies.no_latest")
	}
	if !strings.Contains(string(tests), "`"+string(shown[1])+"`") {
		t.Errorf("docs/policy-input.md's example policy:\n%s\nis not the one TestUserPolicyImportsTheLibrary (lib_test.go) runs", shown[1])
	}
}
