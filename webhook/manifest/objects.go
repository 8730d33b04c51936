package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/webhook/workload"
)

// decoded is one pod-bearing object of a document.
type decoded struct {
	item     int
	workload *workload.Workload
}

// header is what every Kubernetes object and List says of itself.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
	} `json:"metadata"`
}

// MaxListDepth bounds Lists inside Lists, so that a document nested
// without end is refused rather than read until memory runs out; kubectl
// has no bound, and no real manifest comes near this one.
const MaxListDepth = 32

// decodeDocument decodes one YAML document: an object, or a list of them,
// flattened as kubectl does. It returns the pod-bearing objects and how many
// objects it read, lists not counted.
func decodeDocument(text []byte) ([]decoded, int, error) {
	raw, err := yaml.YAMLToJSON(text)
	if err != nil {
		return nil, 0, err
	}
	return decodeObjects(raw)
}

// decodeJSON is decodeDocument for a JSON value, read as kubectl reads it
// (unstructured, a member written twice taking its last value) and written
// again as it sends it.
func decodeJSON(value []byte) ([]decoded, int, error) {
	var v any
	if err := k8sjson.UnmarshalCaseSensitivePreserveInts(value, &v); err != nil {
		return nil, 0, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, 0, err
	}
	return decodeObjects(raw)
}

// decodeObjects is decodeDocument for the document as JSON.
func decodeObjects(raw []byte) ([]decoded, int, error) {
	if string(raw) == "null" {
		return nil, 0, nil
	}
	h, err := readHeader(raw)
	if err != nil {
		return nil, 0, err
	}
	if h.APIVersion == "" {
		return nil, 0, fmt.Errorf("%s has no apiVersion: not a Kubernetes object", h.Kind)
	}
	items, isList, err := listItems(raw)
	if err != nil {
		return nil, 0, err
	}
	if !isList {
		w, err := decodeObject(h, raw)
		if w == nil || err != nil {
			return nil, 1, err
		}
		return []decoded{{workload: w}}, 1, nil
	}
	objects, err := flatten(h, items)
	if err != nil {
		return nil, 0, err
	}
	var out []decoded
	for i, item := range objects {
		ih, err := readHeader(item.raw)
		if err != nil && !(errors.Is(err, errNoKind) && item.inferKind != "") {
			return nil, 0, fmt.Errorf("item %d: %w", i+1, err)
		}
		// The items of a typed list (PodList) may leave out their kind and
		// apiVersion; kubectl gives them the list's, at the top level only.
		if ih.Kind == "" && ih.APIVersion == "" && item.inferKind != "" {
			ih.Kind, ih.APIVersion = item.inferKind, h.APIVersion
		} else if ih.Kind == "" {
			return nil, 0, fmt.Errorf("item %d: %w", i+1, errNoKind)
		}
		w, err := decodeObject(ih, item.raw)
		if err != nil {
			return nil, 0, fmt.Errorf("item %d: %w", i+1, err)
		}
		if w != nil {
			out = append(out, decoded{item: i + 1, workload: w})
		}
	}
	return out, len(objects), nil
}

// listItems reports whether raw is a list as kubectl's decoder decides it
// (it has an items field, whatever its kind) and returns its items.
func listItems(raw []byte) ([]json.RawMessage, bool, error) {
	var l struct {
		Items json.RawMessage `json:"items"`
	}
	if err := k8sjson.UnmarshalCaseSensitivePreserveInts(raw, &l); err != nil || l.Items == nil {
		return nil, false, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(l.Items, &items); err != nil {
		return nil, true, errors.New("items is not a list")
	}
	return items, true, nil
}

// listItem is one object of a flattened list.
type listItem struct {
	raw json.RawMessage
	// inferKind is the kind its typed list implies (Pod of a PodList), for
	// an item of the top-level list.
	inferKind string
}

// flatten returns the objects of the top-level list h, whose items are
// given, in the order kubectl's FlattenListVisitor visits them: breadth
// first, a nested list being an item whose items field is a list.
func flatten(h header, items []json.RawMessage) ([]listItem, error) {
	type queued struct {
		raw   json.RawMessage
		depth int
	}
	inferKind := strings.TrimSuffix(h.Kind, "List")
	var out []listItem
	queue := make([]queued, 0, len(items))
	for _, item := range items {
		queue = append(queue, queued{item, 1})
	}
	for i := 0; i < len(queue); i++ {
		q := queue[i]
		nested, isList := nestedItems(q.raw)
		if !isList {
			item := listItem{raw: q.raw}
			if q.depth == 1 {
				item.inferKind = inferKind
			}
			out = append(out, item)
			continue
		}
		if q.depth >= MaxListDepth {
			return nil, fmt.Errorf("lists nested deeper than %d: not a manifest kubectl would apply here", MaxListDepth)
		}
		for _, item := range nested {
			queue = append(queue, queued{item, q.depth + 1})
		}
	}
	return out, nil
}

// nestedItems reports whether an item of a list is itself a list: an object
// whose items field is a list, as kubectl's Unstructured.IsList decides.
func nestedItems(raw json.RawMessage) ([]json.RawMessage, bool) {
	if first := bytes.TrimSpace(raw); len(first) == 0 || first[0] != '{' {
		return nil, false
	}
	var l struct {
		Items json.RawMessage `json:"items"`
	}
	if k8sjson.UnmarshalCaseSensitivePreserveInts(raw, &l) != nil || !bytes.HasPrefix(bytes.TrimSpace(l.Items), []byte("[")) {
		return nil, false
	}
	var items []json.RawMessage
	if json.Unmarshal(l.Items, &items) != nil {
		return nil, false
	}
	return items, true
}

var errNoKind = errors.New("no kind: not a Kubernetes object")

func readHeader(raw []byte) (header, error) {
	var h header
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return h, errors.New("not a mapping: not a Kubernetes object")
	}
	if err := k8sjson.UnmarshalCaseSensitivePreserveInts(raw, &h); err != nil {
		return h, fmt.Errorf("reading apiVersion, kind and metadata: %w", err)
	}
	if h.Kind == "" {
		return h, errNoKind
	}
	return h, nil
}

// decodeObject decodes a pod-bearing object as the webhook would; it
// returns nil for an object without a pod. The namespace is left as the
// object says: Manifest.Defaulted tells the reader's default from it.
func decodeObject(h header, raw []byte) (*workload.Workload, error) {
	w, err := workload.Decode(schema.FromAPIVersionAndKind(h.APIVersion, h.Kind).GroupKind(), raw)
	if errors.Is(err, workload.ErrNoPodTemplate) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if w.Name == "" {
		w.Name = h.Metadata.GenerateName
	}
	return w, nil
}
