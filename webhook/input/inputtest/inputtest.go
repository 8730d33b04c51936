// Package inputtest holds what tests of the policy input share: the input
// schema, compiled, so that every test holding Go's input to the schema
// holds it to the same one.
package inputtest

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/strata-project/strata/policies"
)

// Schema is policies/input.schema.json, compiled.
func Schema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	raw, err := policies.FS.ReadFile("input.schema.json")
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("input.schema.json", doc); err != nil {
		tb.Fatal(err)
	}
	s, err := c.Compile("input.schema.json")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
