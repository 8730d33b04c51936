package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/policy-input.md maps strata inspect -o json to the policy input
// field by field: the fields its table names are the ones inspect prints
// (stale only when true), and inspect prints no field the table leaves out.
func TestPolicyInputDocumentMapsEveryFieldInspectPrints(t *testing.T) {
	t.Chdir("../..")
	var documented []string
	field := regexp.MustCompile("`([A-Za-z.\\[\\]]+)`( \\(printed only when true\\))?")
	for _, cells := range testutil.DocTable(t, "docs/policy-input.md", "## `strata inspect -o json` is not this document\n")[2:] {
		prefix := ""
		for _, m := range field.FindAllStringSubmatch(cells[0], -1) {
			name := m[1]
			if strings.HasPrefix(name, ".") {
				name = prefix + name
			} else if i := strings.LastIndex(name, "."); i >= 0 {
				prefix = name[:i]
			}
			if m[2] == "" {
				documented = append(documented, name)
			}
		}
	}

	var top map[string]json.RawMessage
	var platforms []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(demoOutput(t, "inspect", "--demo", "-o", "json", "shop/billing:1.0")), &top); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(top["platforms"], &platforms); err != nil || len(platforms) == 0 {
		t.Fatalf("strata inspect -o json: platforms %s: %v", top["platforms"], err)
	}
	var printed []string
	for k := range top {
		if k != "platforms" {
			printed = append(printed, k)
		}
	}
	for k := range platforms[0] {
		if k != "image" {
			printed = append(printed, "platforms[]."+k)
		}
	}
	var image map[string]json.RawMessage
	if err := json.Unmarshal(platforms[0]["image"], &image); err != nil {
		t.Fatal(err)
	}
	for k := range image {
		printed = append(printed, "platforms[].image."+k)
	}
	slices.Sort(documented)
	slices.Sort(printed)
	if !slices.Equal(documented, printed) {
		t.Errorf("docs/policy-input.md maps the fields\n%v\nstrata inspect --demo -o json shop/billing:1.0 prints\n%v", documented, printed)
	}
}
