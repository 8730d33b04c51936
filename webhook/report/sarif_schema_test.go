package report

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/strata-project/strata/webhook/policy"
)

// sarifSchemaFile is the official SARIF 2.1.0 JSON schema (OASIS, errata01),
// vendored verbatim from oasis-tcs/sarif-spec Schemata/sarif-schema-2.1.0.json,
// so that the SARIF strata writes is checked against the standard and not
// against this package's own reading of it.
const sarifSchemaFile = "testdata/sarif-schema-2.1.0.json"

// compiledSARIFSchema compiles the vendored schema, with formats (uri,
// uri-reference) asserted: code scanning rejects a malformed URI.
func compiledSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile(sarifSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", sarifSchemaFile, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(sarifSchemaFile, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(sarifSchemaFile)
	if err != nil {
		t.Fatalf("compiling %s: %v", sarifSchemaFile, err)
	}
	return s
}

// validateSARIF fails the test unless log is valid against the schema.
func validateSARIF(t *testing.T, s *jsonschema.Schema, name string, log []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(log))
	if err != nil {
		t.Fatalf("%s: WriteCheckSARIF wrote invalid JSON: %v\n%s", name, err, log)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("%s: WriteCheckSARIF's log is not valid SARIF 2.1.0: %v\n%s", name, err, log)
	}
}

// TestWriteCheckSARIFMatchesOfficialSchema validates what WriteCheckSARIF
// writes for every kind of report strata check produces: violations of each
// action, an object read from stdin (no line), no object at all, and names
// and files carrying characters a URI must escape.
func TestWriteCheckSARIFMatchesOfficialSchema(t *testing.T) {
	t.Parallel()
	schema := compiledSARIFSchema(t)
	spaced := &Check{Mode: policy.Warn, Objects: []CheckedObject{{
		File: "deploy/my app/ünïcode #1?100%zz.yaml", Line: 7, Document: 1, Kind: "Pod", Namespace: "shop", Name: "web", Decision: Warn,
		Violations: []policy.Violation{{Policy: "run-as-root", Action: policy.Warn, Msg: "runs as root", Container: "web"}},
	}}}
	for name, c := range map[string]*Check{
		"sample":                              sampleCheck(),
		"no objects":                          {Mode: policy.Enforce},
		"escapes in names and files":          forged(),
		"spaces, % and non-ASCII in the path": spaced,
	} {
		validateSARIF(t, schema, name, []byte(written(t, WriteCheckSARIF, c)))
	}
}

// TestSARIFSchemaRejectsWhatCodeScanningRejects keeps the validation above
// honest: the vendored schema, compiled as it is there, refuses logs that
// break SARIF in ways a writer could.
func TestSARIFSchemaRejectsWhatCodeScanningRejects(t *testing.T) {
	t.Parallel()
	schema := compiledSARIFSchema(t)
	good := written(t, WriteCheckSARIF, sampleCheck())
	for name, broken := range map[string]string{
		"level not in the enum": strings.Replace(good, `"level": "error"`, `"level": "fatal"`, 1),
		"region line 0":         strings.Replace(good, `"startLine": 3`, `"startLine": 0`, 1),
		"uri not a reference":   strings.Replace(good, `"uri": "deploy/admin.yaml"`, `"uri": "deploy/%zz.yaml"`, 1),
		"wrong version":         strings.Replace(good, `"version": "2.1.0"`, `"version": "2.1"`, 1),
	} {
		if broken == good {
			t.Fatalf("%s: the replacement did not apply; WriteCheckSARIF wrote:\n%s", name, good)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(broken))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err == nil {
			t.Errorf("%s: the SARIF schema accepted a broken log", name)
		}
	}
}
