package strata_test

import (
	"strings"
	"testing"
)

// pinDigests.enabled.enforce is on by default, and is what makes an enforce
// namespace run the image strata checked: with it off, a pod keeps its tag,
// and a tag re-pointed after admission (by whoever can push to it) runs an
// image strata never saw, while every enforce denial still reads as if
// enforcement held. One value turned it off without a word from the
// install.
func TestNotesWarnWhenEnforceNamespacesAreNotPinned(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		warn bool
	}{
		{[]string{"--set", "namespaces.enforce={shop}"}, false},
		{[]string{"--set", "namespaces.enforce={shop}", "--set", "pinDigests.enabled.enforce=false"}, true},
		{[]string{"--set", "mode=enforce", "--set", "pinDigests.enabled.enforce=false"}, true},
		{[]string{"--set", "pinDigests.enabled.enforce=false"}, false}, // audit by default: nothing enforced
	} {
		notes := installNotes(t, tc.args...)
		if got := strings.Contains(notes, "enforce namespaces are NOT PINNED"); got != tc.warn {
			t.Errorf("helm install %v: NOTES warn that enforce namespaces are not pinned: %v, want %v:\n%s", tc.args, got, tc.warn, notes)
		}
	}
}
