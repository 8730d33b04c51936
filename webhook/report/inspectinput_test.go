package report

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/input"
	"github.com/strata-project/strata/webhook/workload"
)

// TestInspectionJSONLineageIsThePolicyInputLineage holds docs/policy-input.md
// to what it says of `strata inspect -o json`: it is not the policy input,
// but each platform's lineage in it is input.lineage for a container of that
// image on that platform, value for value but for how Go's JSON encoding
// writes two empty values (encodingOnly).
func TestInspectionJSONLineageIsThePolicyInputLineage(t *testing.T) {
	t.Parallel()
	ins := sampleInspection()
	out := written(t, WriteInspectionJSON, ins)
	var doc struct {
		Platforms []struct {
			Lineage any `json:"lineage"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	p := ins.Platforms[0]
	s := input.Subject{
		Container: workload.Container{Name: "web", Image: ins.Written},
		Image:     &images.Image{Written: ins.Written, Ref: ins.Ref, Digest: ins.Digest, Platforms: []*images.Facts{p.Image}},
		Facts:     p.Image, Lineage: p.Lineage,
	}
	in, err := ast.JSON(s.Value().Value())
	if err != nil {
		t.Fatal(err)
	}
	want := in.(map[string]any)["lineage"]
	// Round-trip the input through encoding/json, so both sides hold the
	// same Go types (float64 numbers).
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var wantDoc any
	if err := json.Unmarshal(raw, &wantDoc); err != nil {
		t.Fatal(err)
	}
	got := doc.Platforms[0].Lineage
	encodingOnly(got)
	if !reflect.DeepEqual(got, wantDoc) {
		gotRaw, _ := json.Marshal(got)
		t.Errorf("inspect -o json lineage = %s\nwant input.lineage     %s", gotRaw, raw)
	}
}

// encodingOnly rewrites, in a decoded inspection lineage, the two places
// where encoding/json and the input builder write an empty value apart: a
// chain entry with no refs (null; the input has []) and a claim with no
// digest (omitted; the input has "").
func encodingOnly(l any) {
	m, _ := l.(map[string]any)
	for _, e := range asList(m["chain"]) {
		if e, ok := e.(map[string]any); ok && e["refs"] == nil {
			e["refs"] = []any{}
		}
	}
	for _, c := range asList(m["claims"]) {
		if c, ok := c.(map[string]any); ok {
			if _, ok := c["digest"]; !ok {
				c["digest"] = ""
			}
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }
