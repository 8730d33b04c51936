package manifest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

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
