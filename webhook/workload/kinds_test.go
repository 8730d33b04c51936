package workload

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A custom resource that borrows a built-in kind's name in its own group is
// read as a custom resource (its pod template at spec.template), not where
// the built-in keeps its pod; a pod template with only init containers is a
// pod template; the pre-1.22 EphemeralContainers object is read.
func TestCustomKindsNamedLikeBuiltinsAreReadAsCustomResources(t *testing.T) {
	t.Parallel()
	template := `{"metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"root:1"}]}}}}`
	app := []Container{{Name: "app", Type: TypeContainer, Image: "root:1"}}
	for _, tc := range []struct {
		name string
		kind schema.GroupKind
		raw  string
		want []Container
	}{
		{"CronJob in example.com", schema.GroupKind{Group: "example.com", Kind: "CronJob"}, template, app},
		{"Pod in example.com", schema.GroupKind{Group: "example.com", Kind: "Pod"}, template, app},
		{"Deployment in example.com", schema.GroupKind{Group: "example.com", Kind: "Deployment"}, template, app},
		{"only initContainers", schema.GroupKind{Group: "argoproj.io", Kind: "Rollout"},
			`{"spec":{"template":{"spec":{"initContainers":[{"name":"setup","image":"root:1"}]}}}}`,
			[]Container{{Name: "setup", Type: TypeInit, Image: "root:1"}}},
		{"EphemeralContainers", schema.GroupKind{Kind: "EphemeralContainers"},
			`{"apiVersion":"v1","kind":"EphemeralContainers","metadata":{"name":"web"},"ephemeralContainers":[{"name":"debugger","image":"root:1","securityContext":{"runAsUser":0}}]}`,
			[]Container{{Name: "debugger", Type: TypeEphemeral, Image: "root:1", SecurityContext: SecurityContext{RunAsUser: ptr[int64](0)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := Decode(tc.kind, []byte(tc.raw))
			if err != nil {
				t.Fatalf("Decode(%v, %s) error: %v", tc.kind, tc.raw, err)
			}
			if !reflect.DeepEqual(w.Containers, tc.want) {
				t.Errorf("Decode(%v, %s).Containers = %s, want %s", tc.kind, tc.raw, showContainers(w.Containers), showContainers(tc.want))
			}
		})
	}
	// The built-in CronJob is still read at its job template.
	if _, err := Decode(schema.GroupKind{Group: "batch", Kind: "CronJob"}, []byte(template)); err == nil {
		t.Errorf("Decode(batch CronJob with spec.template only) = nil error, want no pod template")
	}
}
