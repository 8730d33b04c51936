package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The markers stand where the per-request values go while the body is
// marshalled once; the rendered body is then cut at them, so that building a
// request is appending bytes, not encoding JSON: the load generator shares
// the cores with the server it measures.
const (
	uidMarker   = "__strata_loadgen_uid__"
	imageMarker = "__strata_loadgen_image_"
	nameMarker  = "__strata_loadgen_name__"
)

// containerLists are the pod spec fields whose elements carry an image.
var containerLists = map[string]bool{"containers": true, "initContainers": true, "ephemeralContainers": true}

// template is an AdmissionReview cut at its per-request values.
type template struct {
	// parts alternate with the values: parts[0] value0 parts[1] value1 ...
	parts [][]byte
	// holes says what goes after parts[i]: holeUID, holeName or an image slot.
	holes []hole
	// slots is the number of container images the body holds.
	slots int
	// namePrefix starts every unique name, JSON-escaped.
	namePrefix []byte
}

type hole struct {
	kind int // holeUID, holeName, holeImage
	slot int // for holeImage: which container image
}

const (
	holeUID = iota
	holeName
	holeImage
)

// parseTemplate reads an AdmissionReview. The request's uid is always
// replaced; with images, every container image of the object is; with
// uniqueNames, the request's and the object's names are.
func parseTemplate(body []byte, images, uniqueNames bool) (*template, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var review map[string]any
	if err := dec.Decode(&review); err != nil {
		return nil, fmt.Errorf("reading the AdmissionReview: %w", err)
	}
	req, ok := review["request"].(map[string]any)
	if !ok {
		return nil, errors.New("the AdmissionReview has no request")
	}
	req["uid"] = uidMarker
	obj, _ := req["object"].(map[string]any)
	slots := 0
	if images {
		if obj == nil {
			return nil, errors.New("-images needs a request.object with containers")
		}
		markImages(obj, &slots)
		if slots == 0 {
			return nil, errors.New("-images: the request.object has no container images to rewrite")
		}
	}
	namePrefix := "bench-"
	if uniqueNames {
		md, ok := obj["metadata"].(map[string]any)
		if !ok {
			return nil, errors.New("-unique-names needs a request.object with metadata")
		}
		// A validating webhook sees the name the API server generated from
		// generateName; the request's own name stays as the client sent it.
		if g, ok := md["generateName"].(string); ok && g != "" {
			namePrefix = g
		} else if n, ok := md["name"].(string); ok && n != "" {
			namePrefix = n + "-"
			if req["name"] == n {
				req["name"] = nameMarker
			}
		}
		md["name"] = nameMarker
	}
	raw, err := json.Marshal(review)
	if err != nil {
		return nil, err
	}
	t, err := cut(raw, slots)
	if err != nil {
		return nil, err
	}
	t.namePrefix = jsonContents(namePrefix)
	return t, nil
}

// markImages replaces the image of every element of a container list under
// v, depth first, and counts them.
func markImages(v any, slots *int) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if list, ok := child.([]any); ok && containerLists[k] {
				for _, c := range list {
					if c, ok := c.(map[string]any); ok {
						if _, ok := c["image"].(string); ok {
							c["image"] = imageMarker + strconv.Itoa(*slots) + "__"
							*slots++
						}
					}
				}
				continue
			}
			markImages(child, slots)
		}
	case []any:
		for _, child := range v {
			markImages(child, slots)
		}
	}
}

// cut splits raw at the markers, in the order they occur.
func cut(raw []byte, slots int) (*template, error) {
	t := &template{slots: slots}
	seen := map[string]bool{}
	rest := raw
	for {
		i := bytes.Index(rest, []byte("__strata_loadgen_"))
		if i < 0 {
			break
		}
		end := bytes.Index(rest[i+len("__strata_loadgen_"):], []byte("__"))
		if end < 0 {
			return nil, errors.New("a marker is cut short")
		}
		marker := string(rest[i : i+len("__strata_loadgen_")+end+2])
		var h hole
		switch {
		case marker == uidMarker:
			h = hole{kind: holeUID}
		case marker == nameMarker:
			h = hole{kind: holeName}
		default:
			n, err := strconv.Atoi(marker[len(imageMarker) : len(marker)-2])
			if err != nil || n < 0 || n >= slots {
				return nil, fmt.Errorf("the body already holds the text %q", marker)
			}
			h = hole{kind: holeImage, slot: n}
		}
		if seen[marker] && h.kind != holeName {
			return nil, fmt.Errorf("the body already holds the text %q", marker)
		}
		seen[marker] = true
		t.parts = append(t.parts, rest[:i])
		t.holes = append(t.holes, h)
		rest = rest[i+len(marker):]
	}
	t.parts = append(t.parts, rest)
	if !seen[uidMarker] {
		return nil, errors.New("the request uid could not be templated")
	}
	return t, nil
}

// render appends request i's body to dst. uid and name are JSON-safe; images
// are JSON-escaped string contents, and request i uses images[(i*slots+j) mod
// len(images)] for slot j, so consecutive requests name distinct images.
func (t *template) render(dst []byte, i uint64, uid, name []byte, images [][]byte) []byte {
	for k, h := range t.holes {
		dst = append(dst, t.parts[k]...)
		switch h.kind {
		case holeUID:
			dst = append(dst, uid...)
		case holeName:
			dst = append(dst, name...)
		case holeImage:
			dst = append(dst, images[(i*uint64(t.slots)+uint64(h.slot))%uint64(len(images))]...)
		}
	}
	return append(dst, t.parts[len(t.parts)-1]...)
}

// jsonContents is s as the inside of a JSON string literal.
func jsonContents(s string) []byte {
	b, _ := json.Marshal(s)
	return b[1 : len(b)-1]
}
