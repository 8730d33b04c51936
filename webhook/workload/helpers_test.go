package workload

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func ptr[T any](v T) *T { return &v }

// kindOf gives the built-in kinds their groups, as the API server sends
// them; any other kind is a custom resource's, in a group of its own.
func kindOf(kind string) schema.GroupKind {
	switch kind {
	case "Pod", "ReplicationController", "EphemeralContainers":
		return schema.GroupKind{Kind: kind}
	case "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet":
		return schema.GroupKind{Group: "apps", Kind: kind}
	case "Job", "CronJob":
		return schema.GroupKind{Group: "batch", Kind: kind}
	}
	return schema.GroupKind{Group: "example.com", Kind: kind}
}

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// show prints a workload with its values rather than its pointers, for
// failure messages.
func show(w *Workload) string {
	if w == nil {
		return "<nil>"
	}
	b, err := json.Marshal(struct {
		*Workload
		ServiceAccountName string
		ImagePullSecrets   []string
		Containers         []Container
	}{w, w.ServiceAccountName, w.ImagePullSecrets, w.Containers})
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func showContainers(cs []Container) string {
	b, err := json.Marshal(cs)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
