package input

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/strata-project/strata/policies"
)

// BenchmarkEvaluatePodByPolicy is BenchmarkEvaluatePodParts with one
// built-in policy at a time (lib.rego and that policy's file), and with
// none ("none": the query over no policy at all), to tell what each policy
// costs of an uncached evaluation and what every evaluation costs whatever
// it evaluates: the ground for evaluating once per image what reads only
// the image (issue 16, item 4).
//
//	go test -run '^$' -bench BenchmarkEvaluatePodByPolicy -benchmem ./webhook/input/
func BenchmarkEvaluatePodByPolicy(b *testing.B) {
	files, err := fs.Glob(policies.FS, "*.rego")
	if err != nil {
		b.Fatal(err)
	}
	only := []string{""}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.rego") && f != "lib.rego" {
			only = append(only, f)
		}
	}
	for _, file := range only {
		name := strings.TrimSuffix(file, ".rego")
		if file == "" {
			name = "none"
		}
		b.Run(name, func(b *testing.B) {
			builtins := fstest.MapFS{}
			for _, f := range []string{"lib.rego", "input.schema.json", file} {
				if f == "" {
					continue
				}
				data, err := fs.ReadFile(policies.FS, f)
				if err != nil {
					b.Fatal(err)
				}
				builtins[f] = &fstest.MapFile{Data: data}
			}
			evaluateUncachedRounds(b, engineOf(b, builtins))
		})
	}
}
