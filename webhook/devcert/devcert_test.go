package devcert

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteGivesALoadablePair(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")); err != nil {
		t.Errorf("the development pair does not load: %v", err)
	}
}

// A tls.crt that is a symlink, even dangling, is not followed and written
// through: Write creates files, it never replaces or redirects them. A
// tls.key in place leaves the directory as it was, without a new tls.crt.
func TestWriteThroughAnExistingNameIsRefused(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "elsewhere")
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		left  []string
	}{
		{"dangling symlink tls.crt", func(dir string) error { return os.Symlink(outside, filepath.Join(dir, "tls.crt")) }, []string{"tls.crt"}},
		{"existing tls.key", func(dir string) error { return os.WriteFile(filepath.Join(dir, "tls.key"), []byte("mine"), 0o600) }, []string{"tls.key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			if err := Write(dir, time.Now()); !errors.Is(err, fs.ErrExist) {
				t.Errorf("Write = %v, want an error wrapping fs.ErrExist", err)
			}
			if _, err := os.Lstat(outside); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Write created the symlink's target %s", outside)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if len(names) != len(tc.left) || names[0] != tc.left[0] {
				t.Errorf("the directory holds %v after a refused Write, want %v", names, tc.left)
			}
		})
	}
}
