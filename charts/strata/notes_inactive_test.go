package strata_test

import (
	"strings"
	"testing"
)

// With the default approvedBases: [], the approved-base policy reports
// nothing; the install notes said nothing of it, and the README said it
// reported every image.
func TestNotesSayApprovedBaseIsInactiveWithoutApprovedBases(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args     []string
		inactive bool
	}{
		{nil, true},
		{[]string{"--set", "policies.data.approvedBases={registry.example.com/base/*}"}, false},
		{[]string{"--set", "policies.actions.approved-base=off"}, false},
	} {
		notes := installNotes(t, tc.args...)
		if got := strings.Contains(notes, "approved-base is INACTIVE"); got != tc.inactive {
			t.Errorf("helm install %v: NOTES say approved-base is inactive: %v, want %v:\n%s", tc.args, got, tc.inactive, notes)
		}
	}
}

// installNotes is what helm install prints after NOTES: with args.
func installNotes(t *testing.T, args ...string) string {
	t.Helper()
	out, err := helm(t, append([]string{"install", release, ".", "--namespace", namespace, "--dry-run=client"}, args...)...)
	if err != nil {
		t.Fatalf("helm install --dry-run %v: %v", args, err)
	}
	_, notes, _ := strings.Cut(out, "NOTES:")
	return notes
}
