package manifest

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/strata-project/strata/internal/testutil"
)

const rootImage = "strata-demo.local/shop/admin:1.0"

const rootPodJSON = `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "admin", "namespace": "shop"},
 "spec": {"containers": [{"name": "admin", "image": "` + rootImage + `"}]}}`

// configMapThenRootPod is what the attacks below hide: kubectl apply creates
// the ConfigMap and the root Pod; the reader must return the Pod.
const configMapThenRootPod = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n---\n" +
	"apiVersion: v1\nkind: Pod\nmetadata: {name: admin, namespace: shop}\nspec:\n  containers: [{name: admin, image: " + rootImage + "}]\n"

// rootPodThenConfigMap puts the Pod first, so that merging the two
// documents hides its keys under the ConfigMap's.
const rootPodThenConfigMap = "apiVersion: v1\nkind: Pod\nmetadata: {name: admin, namespace: shop}\nspec:\n  containers: [{name: admin, image: " + rootImage + "}]\n---\n" +
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"

// readStdin reads content as standard input (-f -).
func readStdin(content string) ([]Manifest, int, error) {
	return Read([]string{Stdin}, strings.NewReader(content), Limits{})
}

// wantRootPod wants the root Pod shop/admin, item item, among the objects
// read, and read objects read in all.
func wantRootPod(t *testing.T, what string, ms []Manifest, n int, err error, item, read int) {
	t.Helper()
	if err != nil {
		t.Fatalf("reading %s: %v", what, err)
	}
	for _, m := range ms {
		w := m.Workload
		if w.Kind == "Pod" && w.Namespace == "shop" && w.Name == "admin" && len(w.Containers) == 1 && w.Containers[0].Image == rootImage {
			if m.Item != item || n != read {
				t.Errorf("reading %s = the root Pod as item %d of %d objects read, want item %d of %d", what, m.Item, n, item, read)
			}
			return
		}
	}
	t.Errorf("reading %s = %d pod-bearing objects of %d read, none the root Pod shop/admin", what, len(ms), n)
}

func utf16WithBOM(s string, order binary.AppendByteOrder) []byte {
	out := order.AppendUint16(nil, 0xfeff)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

// kubectl decodes a manifest whose byte order mark says UTF-16 (as Windows
// editors and PowerShell's redirection write them); strata check read such
// a file as "0 objects" and exited 0 while kubectl created the root Pod.
func TestUTF16ManifestHidingARootPodIsRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"UTF-16 LE", utf16WithBOM(configMapThenRootPod, binary.LittleEndian)},
		{"UTF-16 BE", utf16WithBOM(configMapThenRootPod, binary.BigEndian)},
		{"UTF-8 with a byte order mark", append([]byte("\ufeff"), configMapThenRootPod...)},
	} {
		file := testutil.WriteFile(t, dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml", string(tc.data))
		ms, n, err := Read([]string{file}, nil, Limits{})
		wantRootPod(t, tc.name, ms, n, err, 0, 2)
	}
}

// kubectl splits documents at any line that starts with "---" followed by
// nothing but spaces or a comment, "---#x: y" included; strata check took
// such a line for content, merged the two documents, and the Pod's keys
// disappeared under the ConfigMap's: "1 object", exit 0.
func TestSeparatorWithACommentHidingARootPodIsRead(t *testing.T) {
	t.Parallel()
	for _, sep := range []string{"---#x: y", "---\t#x", "---   "} {
		file := testutil.WriteFile(t, t.TempDir(), "pod.yaml", strings.Replace(rootPodThenConfigMap, "---\n", sep+"\n", 1))
		ms, n, err := Read([]string{file}, nil, Limits{})
		wantRootPod(t, strconv.Quote(sep), ms, n, err, 0, 2)
	}
}

// A piece between kubectl's separators that still holds two YAML documents
// (after a "..." end marker, or split by lines that end in a lone CR, which
// YAML reads as line breaks and kubectl's splitter does not) is refused:
// which of them an apply creates is not for strata to guess, and reading the
// first only let a second one through unchecked.
func TestPieceHoldingTwoDocumentsIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, data string }{
		{"after a document end marker", strings.Replace(configMapThenRootPod, "---\n", "...\n", 1)},
		{"split by lone carriage returns", strings.ReplaceAll(configMapThenRootPod, "\n", "\r")},
	} {
		file := testutil.WriteFile(t, t.TempDir(), "pod.yaml", tc.data)
		_, _, err := Read([]string{file}, nil, Limits{})
		if err == nil || !strings.Contains(err.Error(), file+": document 1 (line 1): more than one YAML document") {
			t.Errorf("Read(two documents %s) = %v, want an error naming the file and the document", tc.name, err)
		}
	}
}

// kubectl apply -f creates every object of two JSON objects concatenated
// in one .json file; the reader must return both, from a file as from stdin.
func TestConcatenatedJSONFileHidingARootPodIsRead(t *testing.T) {
	t.Parallel()
	configMap := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`
	file := testutil.WriteFile(t, t.TempDir(), "pod.json", configMap+rootPodJSON)
	ms, n, err := Read([]string{file}, nil, Limits{})
	wantRootPod(t, "two concatenated JSON objects", ms, n, err, 0, 2)
}

// kubectl apply -f reads text that starts with "{" as a stream of JSON
// objects (and goes on as YAML when JSON stops): every object of
// `{ConfigMap}{Pod}` is created. strata check read the first one only and
// reported "1 object" and exit 0 while the root Pod after it went unread.
func TestJSONStreamHidingARootPodAfterTheFirstObjectIsRead(t *testing.T) {
	t.Parallel()
	configMap := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`
	rootPodYAML := "apiVersion: v1\nkind: Pod\nmetadata: {name: admin, namespace: shop}\nspec:\n  containers: [{name: admin, image: " + rootImage + "}]\n"
	for _, tc := range []struct{ name, stdin string }{
		{"concatenated", configMap + rootPodJSON},
		{"one a line", configMap + "\n" + rootPodJSON + "\n"},
		{"JSON then YAML", configMap + "\n" + rootPodYAML},
	} {
		ms, n, err := readStdin(tc.stdin)
		wantRootPod(t, "a JSON stream ("+tc.name+")", ms, n, err, 0, 2)
	}
}

// A List inside a List hid its root Pod: strata check read "0 objects" and
// exited 0, where kubectl apply creates the Pod.
func TestNestedListHidingARootPodIsRead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stdin string
		item, read  int
	}{
		{"List in a List", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "List", "items": [` + rootPodJSON + `]}]}`, 1, 1},
		{"List in a List in a List, after a ConfigMap", `{"apiVersion": "v1", "kind": "List", "items": [
			{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
			{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "List", "items": [` + rootPodJSON + `]}]}]}`, 2, 2},
		// kubectl reads any document with items as a list, whatever its kind.
		{"a PodList holding a List", `{"apiVersion": "v1", "kind": "PodList", "items": [{"apiVersion": "v1", "kind": "List", "items": [` + rootPodJSON + `]}]}`, 1, 1},
	} {
		ms, n, err := readStdin(tc.stdin)
		wantRootPod(t, tc.name, ms, n, err, tc.item, tc.read)
	}
}

// Lists nested without end are refused with an error that says so, rather
// than read until memory runs out.
func TestListNestedPastTheBoundIsRefused(t *testing.T) {
	t.Parallel()
	doc := rootPodJSON
	for range MaxListDepth + 1 {
		doc = `{"apiVersion": "v1", "kind": "List", "items": [` + doc + `]}`
	}
	if _, _, err := readStdin(doc); err == nil || !strings.Contains(err.Error(), "lists nested deeper than") {
		t.Errorf("Read(Lists nested %d deep) = %v, want an error naming the bound", MaxListDepth+1, err)
	}
}

// A manifest that is not a regular file is refused before it is opened:
// /dev/zero behind a symlink read until memory ran out, and a FIFO named
// *.yaml blocked strata check forever.
func TestManifestThatIsNotARegularFileIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Unblock a reader left waiting for a writer, so that a failing
		// run ends instead of leaking a blocked goroutine.
		if f, err := os.OpenFile(fifo, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	walked := filepath.Join(t.TempDir(), "in-a-directory")
	if err := os.Mkdir(walked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(walked, "zero.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"a symlink to /dev/zero", zero, zero},
		{"a FIFO", fifo, fifo},
		{"/dev/null", "/dev/null", "/dev/null"},
		{"a symlink to /dev/zero in a directory", walked, filepath.Join(walked, "zero.yaml")},
	} {
		done := make(chan error, 1)
		go func() {
			_, _, err := Read([]string{tc.path}, nil, Limits{})
			done <- err
		}()
		select {
		case err := <-done:
			var nr *NotRegularError
			if !errors.As(err, &nr) || nr.Path != tc.want {
				t.Errorf("Read(%s) = %v, want a NotRegularError for %s", tc.name, err, tc.want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("Read(%s) had not answered after 30s", tc.name)
		}
	}
}

// Manifests past the size caps are refused, not read: per file and for the
// whole read, files and standard input alike, with the cap passed named.
func TestManifestsPastTheSizeCapAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := testutil.WriteFile(t, dir, "big.yaml", configMapThenRootPod+"# "+strings.Repeat("x", 2000)+"\n")
	small := testutil.WriteFile(t, dir, "small.yaml", configMapThenRootPod)
	total := int64(2*len(configMapThenRootPod) + 10)
	for _, tc := range []struct {
		name   string
		stdin  string
		paths  []string
		limits Limits
		want   LimitError
	}{
		{"one file", "", []string{big}, Limits{FileBytes: 1000}, LimitError{Name: big, Limit: 1000}},
		{"standard input", configMapThenRootPod + strings.Repeat("#", 1000), []string{Stdin}, Limits{FileBytes: 1000}, LimitError{Name: StdinName, Limit: 1000}},
		// Each file is under the cap; the third one takes the read past it.
		{"all files", "", []string{small, small, small}, Limits{TotalBytes: total}, LimitError{Name: small, Limit: total, Total: true}},
	} {
		_, _, err := Read(tc.paths, strings.NewReader(tc.stdin), tc.limits)
		var le *LimitError
		if !errors.As(err, &le) || *le != tc.want {
			t.Errorf("Read(%s past its cap) = %v, want %+v", tc.name, err, tc.want)
		}
	}
	if _, n, err := Read([]string{small, small}, nil, Limits{TotalBytes: total}); err != nil || n != 4 {
		t.Errorf("Read(two files under the total cap) = %d objects, %v; want 4, nil", n, err)
	}
}

// Standard input is read once: a second -f - would read nothing and report
// fewer objects than were given.
func TestStdinNamedTwiceIsRefused(t *testing.T) {
	t.Parallel()
	if _, _, err := Read([]string{Stdin, Stdin}, strings.NewReader(rootPodJSON), Limits{}); !errors.Is(err, ErrStdinTwice) {
		t.Errorf("Read(stdin twice) = %v, want ErrStdinTwice", err)
	}
}

// A directory is read as kubectl reads it: its .yaml, .yml and .json files,
// recursively, in lexical order, with the namespace kubectl would apply each
// object to and the line each document starts on.
func TestDirectoryIsReadInOrderWithLinesAndNamespaces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	testutil.WriteFile(t, dir, "b.yml", "# header\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers: [{name: c, image: x}]\n")
	testutil.WriteFile(t, dir, "a.json", rootPodJSON)
	testutil.WriteFile(t, dir, "notes.txt", rootPodJSON)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(dir, "sub"), "c.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {generateName: web-}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: x}]\n")
	ms, n, err := Read([]string{dir}, nil, Limits{})
	if err != nil {
		t.Fatalf("Read(dir) = %v", err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, filepath.Base(m.File)+":"+strconv.Itoa(m.Line)+" "+m.Workload.Kind+" "+m.Workload.Namespace+"/"+m.Workload.Name)
	}
	want := []string{"a.json:1 Pod shop/admin", "b.yml:3 Pod default/b", "c.yaml:1 Deployment default/web-"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") || n != 3 {
		t.Errorf("Read(dir) = %q, %d read; want %q, 3 read", got, n, want)
	}
	if _, _, err := Read([]string{t.TempDir()}, nil, Limits{}); err == nil || !strings.Contains(err.Error(), "no .yaml, .yml or .json files") {
		t.Errorf("Read(empty dir) = %v, want an error saying it holds no manifest", err)
	}
}
