package goldentest

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic(r) }
func (r *recorder) Fatal(...any)          { r.failed = true; panic(r) }
func (r *recorder) Name() string          { return "TestX" }
func (r *recorder) run(f func(testing.TB)) {
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
	}()
	f(r)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.golden")
	update := false
	files := &Files{flag: "update", update: &update}

	missing := &recorder{TB: t}
	missing.run(func(tb testing.TB) { files.Check(tb, path, []byte("a\n")) })
	if !missing.failed {
		t.Error("Check against a missing file passed, want it to fail")
	}

	update = true
	files.Check(t, path, []byte("a\n"))
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\n" {
		t.Fatalf("after Check under -update, the file = %q, %v; want the output written", b, err)
	}

	update = false
	files.Check(t, path, []byte("a\n"))
	differs := &recorder{TB: t}
	differs.run(func(tb testing.TB) { files.Check(tb, path, []byte("b\n")) })
	if !differs.failed {
		t.Error("Check of an output that differs from the file passed, want it to fail")
	}
}
