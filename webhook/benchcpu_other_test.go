//go:build !unix

package webhook

import "testing"

// reportCPU reports nothing where getrusage is not.
func reportCPU(*testing.B) func() { return func() {} }
