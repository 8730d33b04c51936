package policy

import "github.com/open-policy-agent/opa/v1/ast"

// Request is what the admission request says about itself.
type Request struct {
	Operation string
	DryRun    bool
	Namespace string
	User      string
	// Mode is the mode the request is decided in. It is not policy input:
	// the pipeline reads it where the mode changes which facts are acceptable
	// (enforce never rests on a tag resolution past its TTL).
	Mode Action
}

// Value is a policy input, as Evaluate takes it: built outside the engine
// (by webhook/input), so that the engine knows nothing of images, lineage
// or workloads.
type Value = ast.Value
