package webhook

import (
	"errors"
	"testing"

	"github.com/strata-project/strata/webhook/policy"
)

// After a failed reload the last good policies keep serving: strata stays
// ready and says so, as it says which policy can report nothing.
func TestPolicyStatus(t *testing.T) {
	t.Parallel()
	inactive := []policy.Meta{{ID: "run-as-root"}, {ID: "approved-base", Inactive: "approvedBases is empty"}}
	for _, tc := range []struct {
		name     string
		st       policy.Status
		policies []policy.Meta
		want     string
		wantErr  bool
	}{
		{"nothing compiled", policy.Status{LastError: errors.New("parse error")}, nil, "", true},
		{"serving", policy.Status{Generation: 2}, inactive[:1], "generation 2", false},
		{"reload failed", policy.Status{Generation: 1, LastError: errors.New("x.rego:3: parse error")}, nil,
			"generation 1 serving; the last reload failed: x.rego:3: parse error", false},
		{"inactive", policy.Status{Generation: 1}, inactive, "generation 1; inactive: approved-base (approvedBases is empty)", false},
	} {
		got, err := policyStatus(tc.st, tc.policies)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: policyStatus(%+v) = %q, %v; want %q, error %v", tc.name, tc.st, got, err, tc.want, tc.wantErr)
		}
	}
}
