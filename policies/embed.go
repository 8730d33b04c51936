// Package policies holds strata's built-in Rego policies, each beside its
// tests, and the JSON schema of the input they read.
package policies

import "embed"

// FS holds the built-in policies (*.rego), their tests (*_test.rego) and
// input.schema.json.
//
//go:embed *.rego input.schema.json
var FS embed.FS
