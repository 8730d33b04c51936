package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/policy-input.md maps strata inspect -o json to the policy input
// field by field: the fields its table names are the ones inspect prints
// (stale, "printed only when true", absent for an image resolved afresh),
// and inspect prints no field the table leaves out.
func TestPolicyInputDocumentMapsEveryFieldInspectPrints(t *testing.T) {
	t.Chdir("../..")
	const heading = "## `strata inspect -o json` is not this document\n"
	documented := testutil.DocFields(t, "docs/policy-input.md", heading)
	printed := testutil.JSONFields(t, []byte(demoOutput(t, "inspect", "--demo", "-o", "json", "shop/billing:1.0")), documented)
	if doc := string(testutil.ReadFile(t, "docs/policy-input.md")); !strings.Contains(doc, "`stale` (printed only when true)") {
		t.Fatal("docs/policy-input.md no longer says stale is printed only when true")
	}
	if want := slices.DeleteFunc(slices.Clone(documented), func(f string) bool { return f == "stale" }); !slices.Equal(printed, want) {
		t.Errorf("docs/policy-input.md maps the fields\n%v\nstrata inspect --demo -o json shop/billing:1.0 prints\n%v", want, printed)
	}
}
