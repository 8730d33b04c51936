package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// noRootViolated reports whether e denies the root input with the user's
// no-root policy, i.e. whether that policy was loaded.
func noRootViolated(t *testing.T, e *Engine) bool {
	t.Helper()
	got := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(mustInput(t, rootInput)))
	return len(got) == 1 && got[0].Policy == "no-root"
}

// git-sync and hand-made deployments point policies.paths at a symlink to
// a directory; strata loaded nothing from it and reported "policies ok".
func TestSymlinkedPolicyDirectoryIsLoaded(t *testing.T) {
	t.Parallel()
	target, links := t.TempDir(), t.TempDir()
	writeFiles(t, target, map[string]string{"no_root.rego": rootPolicy})
	link := filepath.Join(links, "current")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, Options{Paths: []string{link}})
	if !noRootViolated(t, e) {
		t.Errorf("the policy under the symlinked directory %s was not loaded", link)
	}
	if ps := e.Policies(); len(ps) != 1 || !strings.HasPrefix(ps[0].Source, link+string(filepath.Separator)) {
		t.Errorf("policies = %+v, want no-root named under the configured path %s", ps, link)
	}
}

// configMapMount lays dir out as the kubelet mounts a ConfigMap: the files
// in a timestamped directory, ..data a symlink to it, and each visible
// name a symlink through ..data. swap publishes a new version atomically.
func configMapMount(t *testing.T, dir string, files map[string]string) (swap func(version string, files map[string]string)) {
	t.Helper()
	swap = func(version string, files map[string]string) {
		t.Helper()
		ts := filepath.Join(dir, "..2026_11_30_"+version)
		if err := os.Mkdir(ts, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, ts, files)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		for name := range files {
			visible := filepath.Join(dir, name)
			if _, err := os.Lstat(visible); err == nil {
				continue
			}
			if err := os.Symlink(filepath.Join("..data", name), visible); err != nil {
				t.Fatal(err)
			}
		}
	}
	swap("a", files)
	return swap
}

// A ConfigMap mounted behind a symlinked root (git-sync's layout over the
// kubelet's) is loaded, and its ..data swap is noticed and reloaded.
func TestConfigMapDataSymlinkSwapBehindASymlinkedRootIsReloaded(t *testing.T) {
	t.Parallel()
	mount, links := t.TempDir(), t.TempDir()
	swap := configMapMount(t, mount, map[string]string{"labelled.rego": warnPolicy, "data.json": `{"label": "team"}`})
	link := filepath.Join(links, "policies")
	if err := os.Symlink(mount, link); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, Options{Paths: []string{link}})
	w := newWatcher(e)
	swap("b", map[string]string{"labelled.rego": warnPolicy, "data.json": `{"label": "owner"}`})
	for range 3 {
		w.poll(t.Context())
	}
	got := e.Evaluate(t.Context(), "web", "", InputOf(mustInput(t, rootInput)))
	if len(got) != 1 || got[0].Msg != "missing label owner" {
		t.Errorf("Evaluate after the ConfigMap swap = %+v, want the new label in the message", got)
	}
}

// An empty directory (a ConfigMap not yet populated, a wrong path) loaded
// nothing and reported "policies ok": it is an error at start, and a
// failed reload that keeps the last good set afterwards.
func TestPolicyPathWithoutRegoFilesIsAnError(t *testing.T) {
	t.Parallel()
	empty := policyDir(t, map[string]string{"data.json": `{"label": "team"}`})
	if _, err := New(t.Context(), Options{Paths: []string{empty}}); err == nil || !strings.Contains(err.Error(), "no .rego") {
		t.Errorf("New with a directory holding no .rego files = %v, want an error saying so", err)
	}

	dir := policyDir(t, map[string]string{"no_root.rego": rootPolicy})
	e := newEngine(t, Options{Paths: []string{dir}})
	if err := os.Remove(filepath.Join(dir, "no_root.rego")); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(t.Context()); err == nil || !strings.Contains(err.Error(), "no .rego") {
		t.Errorf("Reload after the last .rego file went = %v, want an error saying so", err)
	}
	if st := e.Status(); st.LastError == nil || st.Generation != 1 || !noRootViolated(t, e) {
		t.Errorf("after the failed reload: status %+v; want the error recorded and the previous set still serving", st)
	}
}

// A 100 MB data file was read, parsed and hashed every two seconds; a file
// over the cap is refused with an error that names it and the limit, and
// a file that is not regular (a FIFO would block) is refused unread.
func TestOversizeDataFileIsRefused(t *testing.T) {
	t.Parallel()
	dir := policyDir(t, map[string]string{"no_root.rego": rootPolicy})
	big := `{"label": "` + strings.Repeat("x", 2<<10) + `"}`
	writeFiles(t, dir, map[string]string{"data.json": big})
	_, err := New(t.Context(), Options{Paths: []string{dir}, MaxFileBytes: 1 << 10})
	if err == nil || !strings.Contains(err.Error(), "data.json") || !strings.Contains(err.Error(), "1024") {
		t.Errorf("New with a data file over MaxFileBytes = %v, want an error naming the file and the limit", err)
	}
	if _, err := New(t.Context(), Options{Paths: []string{dir}, MaxFileBytes: 4 << 10, MaxTotalBytes: 2 << 10}); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Errorf("New with files over MaxTotalBytes together = %v, want an error naming the limit", err)
	}
}

// Unchanged files are not read again: the watcher compares size, mtime and
// inode, and reads only when they differ. A file touched without changing
// is read once, not reloaded; a changed file is reloaded once, after it
// has stopped changing.
func TestUnchangedPolicyFilesAreNotReread(t *testing.T) {
	t.Parallel()
	dir := policyDir(t, map[string]string{"no_root.rego": rootPolicy, "data.json": `{"label": "team"}`})
	e := newEngine(t, Options{Paths: []string{dir}})
	reads := 0
	e.onRead = func(string) { reads++ }
	w := newWatcher(e)
	for range 5 {
		w.poll(t.Context())
	}
	if reads != 0 {
		t.Errorf("5 polls of unchanged files read %d files, want 0", reads)
	}

	// Touched, same content: read to compare, not reloaded.
	future := fileTime(t, filepath.Join(dir, "data.json")).Add(1e9)
	if err := os.Chtimes(filepath.Join(dir, "data.json"), future, future); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		w.poll(t.Context())
	}
	if reads == 0 || reads > 2 || e.Status().Generation != 1 {
		t.Errorf("5 polls after a touch read %d files and reached generation %d; want 1 or 2 reads and no reload", reads, e.Status().Generation)
	}

	// Changed on every poll: the reload waits for the change to settle,
	// up to maxSettlePolls, rather than reloading on every poll.
	for i := range 2 * maxSettlePolls {
		writeFiles(t, dir, map[string]string{"data.json": `{"label": "v` + strings.Repeat("x", i) + `"}`})
		w.poll(t.Context())
	}
	if g := e.Status().Generation; g < 2 || g > 3 {
		t.Errorf("%d polls of a file changing every poll reached generation %d, want 2 or 3 (reloads bounded by the settle wait)", 2*maxSettlePolls, g)
	}
	gen := e.Status().Generation
	w.poll(t.Context())
	w.poll(t.Context())
	if e.Status().Generation != gen+1 {
		t.Errorf("once the file settled, generation = %d, want %d", e.Status().Generation, gen+1)
	}
}

func fileTime(t *testing.T, path string) time.Time {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.ModTime()
}
