package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const rootPodJSON = `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "admin", "namespace": "shop"},
 "spec": {"containers": [{"name": "admin", "image": "strata-demo.local/shop/admin:1.0"}]}}`

// A List inside a List hid its root Pod: strata check read "0 objects" and
// exited 0, where kubectl apply creates the Pod.
func TestCheckNestedListHidingARootPodIsDenied(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stdin string
		want        []string
	}{
		{"List in a List", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "List", "items": [` + rootPodJSON + `]}]}`,
			[]string{"✗ deny Pod shop/admin (stdin, item 1)", "1 object: 0 allowed, 0 with warnings, 1 denied"}},
		{"List in a List in a List, after a ConfigMap", `{"apiVersion": "v1", "kind": "List", "items": [
			{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
			{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "List", "items": [` + rootPodJSON + `]}]}]}`,
			[]string{"✗ deny Pod shop/admin (stdin, item 2)", "1 object: 0 allowed, 0 with warnings, 1 denied (2 objects read"}},
		// kubectl reads any document with items as a list, whatever its kind.
		{"a PodList holding a List", `{"apiVersion": "v1", "kind": "PodList", "items": [{"apiVersion": "v1", "kind": "List", "items": [` + rootPodJSON + `]}]}`,
			[]string{"✗ deny Pod shop/admin", "1 denied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runStrataStdin(t, tc.stdin, "check", "--demo", "--mode", "enforce", "-f", "-")
			if code != 1 {
				t.Fatalf("strata check of %s = exit %d, want 1; stdout:\n%s\nstderr:\n%s", tc.name, code, out, errOut)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("strata check of %s: output lacks %q; got:\n%s", tc.name, want, out)
				}
			}
		})
	}
}

// Lists nested without end are refused with an error that says so, rather
// than read until memory runs out.
func TestCheckListNestedPastTheBoundIsRefused(t *testing.T) {
	t.Parallel()
	doc := rootPodJSON
	for range maxListDepth + 1 {
		doc = `{"apiVersion": "v1", "kind": "List", "items": [` + doc + `]}`
	}
	code, _, errOut := runStrataStdin(t, doc, "check", "--mode", "enforce", "-f", "-")
	if code != 2 || !strings.Contains(errOut, "Lists nested deeper than") {
		t.Errorf("strata check of Lists nested %d deep = exit %d, stderr %q; want exit 2 naming the bound", maxListDepth+1, code, errOut)
	}
}

// decodeDocument visits a list's objects in the order kubectl's
// FlattenListVisitor does (breadth first), numbers them in that order, and
// gives the kind of a typed list only to its own items.
func TestDecodeDocumentFlattensLikeKubectl(t *testing.T) {
	t.Parallel()
	pod := func(name string) string {
		return `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "` + name + `"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}`
	}
	doc := `{"apiVersion": "v1", "kind": "PodList", "items": [` + pod("a") +
		`, {"apiVersion": "v1", "kind": "List", "items": [` + pod("c") + `, {"apiVersion": "v1", "kind": "ConfigMap"}]},` +
		`{"metadata": {"name": "b"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}]}`
	got, read, err := decodeDocument([]byte(doc))
	if err != nil {
		t.Fatalf("decodeDocument: %v", err)
	}
	var names []string
	for _, d := range got {
		names = append(names, fmt.Sprintf("%s@%d", d.workload.Name, d.item))
	}
	if want := []string{"a@1", "b@2", "c@3"}; !slices.Equal(names, want) || read != 4 {
		t.Errorf("decodeDocument = %v, %d read; want %v, 4 read", names, read, want)
	}
	// A nested item without a kind gets none: kubectl refuses it too.
	_, _, err = decodeDocument([]byte(`{"apiVersion": "v1", "kind": "PodList", "items": [{"apiVersion": "v1", "kind": "List", "items": [{"metadata": {"name": "d"}}]}]}`))
	if err == nil || !strings.Contains(err.Error(), "no kind") {
		t.Errorf("decodeDocument(kindless item of a nested List) = %v, want a no kind error", err)
	}
}

// FuzzDecodeDocument: whatever a document holds, lists nested or not,
// decodeDocument answers without panicking, and every object it returns
// was counted as read.
func FuzzDecodeDocument(f *testing.F) {
	for _, s := range []string{
		rootPodJSON,
		`{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "List", "items": [` + rootPodJSON + `]}]}`,
		`{"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "a"}, "spec": {"containers": []}}, 7, null, {"items": "x"}]}`,
		`{"apiVersion": "v1", "kind": "Pod", "items": null}`,
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: []\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, read, err := decodeDocument(doc)
		if err != nil {
			if got != nil {
				t.Errorf("decodeDocument(%q) = %d objects with error %v, want none", doc, len(got), err)
			}
			return
		}
		if len(got) > read {
			t.Errorf("decodeDocument(%q) = %d objects, but %d read", doc, len(got), read)
		}
	})
}

// kubectl apply -f reads a file that starts with "{" as a stream of JSON
// objects (and goes on as YAML when JSON stops): every object of
// `{ConfigMap}{Pod}` is created. strata check read the first one only and
// reported "1 object" and exit 0 while the root Pod after it went unread.
func TestCheckJSONStreamHidingARootPodAfterTheFirstObjectIsDenied(t *testing.T) {
	t.Parallel()
	configMap := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`
	rootPodYAML := "apiVersion: v1\nkind: Pod\nmetadata: {name: admin, namespace: shop}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n"
	for _, tc := range []struct{ name, stdin string }{
		{"concatenated", configMap + rootPodJSON},
		{"one a line", configMap + "\n" + rootPodJSON + "\n"},
		{"JSON then YAML", configMap + "\n" + rootPodYAML},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runStrataStdin(t, tc.stdin, "check", "--demo", "--mode", "enforce", "-f", "-")
			if code != 1 || !strings.Contains(out, "✗ deny Pod shop/admin") || !strings.Contains(out, "2 objects read") {
				t.Fatalf("strata check of a JSON stream (%s) = exit %d, want 1 denying Pod shop/admin of 2 objects read; stdout:\n%s\nstderr:\n%s", tc.name, code, out, errOut)
			}
		})
	}
}
