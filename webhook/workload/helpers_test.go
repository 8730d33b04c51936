package workload

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func ptr[T any](v T) *T { return &v }

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
