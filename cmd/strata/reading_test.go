package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
)

// configMapThenRootPod is what the attacks below hide: kubectl apply creates
// the ConfigMap and the root Pod; strata check must deny the Pod.
const configMapThenRootPod = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n---\n" +
	"apiVersion: v1\nkind: Pod\nmetadata: {name: admin, namespace: shop}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n"

// rootPodThenConfigMap puts the Pod first, so that merging the two
// documents hides its keys under the ConfigMap's.
const rootPodThenConfigMap = "apiVersion: v1\nkind: Pod\nmetadata: {name: admin, namespace: shop}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n---\n" +
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"

// checkDeniesRootPod runs strata check in enforce mode on file and wants the
// root Pod denied among the two objects kubectl applies.
func checkDeniesRootPod(t *testing.T, what, file string) {
	t.Helper()
	code, out, errOut := runStrata(t, "check", "--demo", "--mode", "enforce", "-f", file)
	if code != 1 || !strings.Contains(out, "✗ deny Pod shop/admin") || !strings.Contains(out, "2 objects read") {
		t.Errorf("strata check of %s = exit %d, want 1 denying Pod shop/admin of 2 objects read; stdout:\n%s\nstderr:\n%s", what, code, out, errOut)
	}
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
func TestCheckUTF16ManifestHidingARootPodIsDenied(t *testing.T) {
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
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(file, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			checkDeniesRootPod(t, tc.name, file)
		})
	}
}

// kubectl splits documents at any line that starts with "---" followed by
// nothing but spaces or a comment, "---#x: y" included; strata check took
// such a line for content, merged the two documents, and the Pod's keys
// disappeared under the ConfigMap's: "1 object", exit 0.
func TestCheckSeparatorWithACommentHidingARootPodIsDenied(t *testing.T) {
	t.Parallel()
	for _, sep := range []string{"---#x: y", "---\t#x", "---   "} {
		t.Run(sep, func(t *testing.T) {
			t.Parallel()
			data := strings.Replace(rootPodThenConfigMap, "---\n", sep+"\n", 1)
			file := writeFile(t, t.TempDir(), "pod.yaml", data)
			checkDeniesRootPod(t, strconv.Quote(sep), file)
		})
	}
}

// A piece between kubectl's separators that still holds two YAML documents
// (after a "..." end marker, or split by lines that end in a lone CR, which
// YAML reads as line breaks and kubectl's splitter does not) is refused:
// which of them an apply creates is not for strata check to guess, and
// reading the first only let a second one through unchecked.
func TestCheckPieceHoldingTwoDocumentsIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, data string }{
		{"after a document end marker", strings.Replace(configMapThenRootPod, "---\n", "...\n", 1)},
		{"split by lone carriage returns", strings.ReplaceAll(configMapThenRootPod, "\n", "\r")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, t.TempDir(), "pod.yaml", tc.data)
			code, out, errOut := runStrata(t, "check", "--demo", "--mode", "enforce", "-f", file)
			if code != 2 || !strings.Contains(errOut, file+": document 1 (line 1): more than one YAML document") {
				t.Errorf("strata check of two documents %s = exit %d, want 2 naming the file and the document; stdout:\n%s\nstderr:\n%s", tc.name, code, out, errOut)
			}
		})
	}
}

// kubectl apply -f creates every object of two JSON objects concatenated
// in one .json file; strata check must read both, from a file as from stdin.
func TestCheckConcatenatedJSONFileHidingARootPodIsDenied(t *testing.T) {
	t.Parallel()
	configMap := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`
	file := writeFile(t, t.TempDir(), "pod.json", configMap+rootPodJSON)
	checkDeniesRootPod(t, "two concatenated JSON objects", file)
}

// A manifest that is not a regular file is refused before it is opened:
// /dev/zero behind a symlink read until memory ran out, and a FIFO named
// *.yaml blocked strata check forever.
func TestCheckManifestThatIsNotARegularFileIsRefused(t *testing.T) {
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
		{"a symlink to /dev/zero", zero, zero + ": not a regular file"},
		{"a FIFO", fifo, fifo + ": not a regular file"},
		{"/dev/null", "/dev/null", "/dev/null: not a regular file"},
		{"a symlink to /dev/zero in a directory", walked, filepath.Join(walked, "zero.yaml") + ": not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			type result struct {
				code   int
				errOut string
			}
			done := make(chan result, 1)
			go func() {
				code, _, errOut := runStrata(t, "check", "--mode", "enforce", "-f", tc.path)
				done <- result{code, errOut}
			}()
			select {
			case r := <-done:
				if r.code != 2 || !strings.Contains(r.errOut, tc.want) {
					t.Errorf("strata check -f %s = exit %d, stderr %q; want exit 2 and %q", tc.name, r.code, r.errOut, tc.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("strata check -f %s had not answered after 30s", tc.name)
			}
		})
	}
}

// Manifests past the size caps are refused, not read: per file and for the
// whole run, files and standard input alike, with the cap and the flag that
// raises it named.
func TestCheckManifestsPastTheSizeCapAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := writeFile(t, dir, "big.yaml", configMapThenRootPod+"# "+strings.Repeat("x", 2000)+"\n")
	small := writeFile(t, dir, "small.yaml", configMapThenRootPod)
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"one file", "", []string{"--max-file-bytes", "1000", "-f", big},
			big + ": larger than the 1000-byte cap of --max-file-bytes"},
		{"standard input", configMapThenRootPod + strings.Repeat("#", 1000), []string{"--max-file-bytes", "1000", "-f", "-"},
			"stdin: larger than the 1000-byte cap of --max-file-bytes"},
		// Each file is under the cap; the third one takes the run past it.
		{"the run", "", []string{"--max-total-bytes", strconv.Itoa(2*len(configMapThenRootPod) + 10), "-f", small, "-f", small, "-f", small},
			small + ": the manifests read pass the " + strconv.Itoa(2*len(configMapThenRootPod)+10) + "-byte cap of --max-total-bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"check", "--mode", "enforce"}, tc.args...)
			code, _, errOut := runStrataStdin(t, tc.stdin, args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("strata %s = exit %d, stderr %q; want exit 2 and %q", strings.Join(args, " "), code, errOut, tc.want)
			}
		})
	}
}
