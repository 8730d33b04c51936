package images

import (
	"os"
	"regexp"
	"testing"
)

// docs/images.md names the version of github.com/containerd/platforms
// whose matcher chooses an index's manifests: it is the one go.mod
// requires.
func TestImagesMdNamesThePlatformsModuleVersionStrataBuildsWith(t *testing.T) {
	t.Parallel()
	version := func(path, pattern string) string {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(pattern).FindSubmatch(raw)
		if m == nil {
			t.Fatalf("%s names no version of github.com/containerd/platforms", path)
		}
		return string(m[1])
	}
	required := version("../../go.mod", `(?m)^\s*github\.com/containerd/platforms (\S+)`)
	if documented := version("../../docs/images.md", "`github.com/containerd/platforms` (v[^ ,)]+)"); documented != required {
		t.Errorf("docs/images.md names github.com/containerd/platforms %s; go.mod requires %s", documented, required)
	}
}
