package audit

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// A workload's UID can be a tenant's free text: the pods of a controller
// strata does not list are named after their ownerReference, whose uid the
// API server takes as written (capitals, underscores, a slash, a kilobyte).
// Its report name was not a valid name: the write failed on every run, so
// the tenant's root pods had no report, and every audit run failed.
func TestReportNameIsAValidNameForAnyUID(t *testing.T) {
	t.Parallel()
	const real = "0f6b1a3e-8c1d-4c33-9b2a-6f0e1c2d3b4a"
	if got := ReportName(real); got != "strata-"+real {
		t.Errorf("ReportName(%q) = %q, want strata-%s: an API server's UID names its report as it is", real, got, real)
	}
	seen := map[string]string{}
	for _, uid := range []string{real, "Evil_UID", "evil_uid", "a/b", "..", strings.Repeat("a", 300), strings.Repeat("a", 301), "x\x00y"} {
		name := ReportName(uid)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Errorf("ReportName(%q) = %q, not a valid name: %v", uid, name, errs)
		}
		if uid != real && !regexp.MustCompile(`^strata-sha256-[0-9a-f]{32}$`).MatchString(name) {
			t.Errorf("ReportName(%q) = %q, want strata-sha256- and 32 hex digits (docs/policy-reports.md)", uid, name)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("ReportName(%q) = ReportName(%q) = %q", uid, other, name)
		}
		seen[name] = uid
	}
}
