package workload

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// pinFields is what DecodePodImages promises to read as Decode does.
func pinFields(w *Workload) *Workload {
	out := &Workload{Kind: w.Kind, Name: w.Name, Namespace: w.Namespace, ServiceAccountName: w.ServiceAccountName, ImagePullSecrets: w.ImagePullSecrets}
	for _, c := range w.Containers {
		out.Containers = append(out.Containers, Container{Name: c.Name, Type: c.Type, Image: c.Image})
	}
	return out
}

// Wherever both decode a Pod, DecodePodImages reads the same name,
// namespace, service account, pull secrets and containers as Decode, so that
// the pin resolves the images validation will judge, with the same
// credentials; and it never decodes what Decode refuses as no Pod at all.
func FuzzDecodePodImagesAgreesWithDecode(f *testing.F) {
	for _, file := range []string{"pod.json", "deployment.json", "ephemeralcontainers-request.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `null`, `[]`, `{}`, `{"spec":null}`, `{"spec":{}}`, `{"spec":"x"}`,
		`{"metadata":{"name":"web","namespace":"shop","labels":{"a":"b"}},"spec":{"serviceAccount":"old","containers":[{"name":"app","image":"shop/web:1.0","securityContext":{"runAsUser":0}}]}}`,
		`{"spec":{"serviceAccountName":"new","serviceAccount":"old","imagePullSecrets":[{"name":"a"},{},null,{"name":"b"}]}}`,
		`{"spec":{"initContainers":[{"restartPolicy":"Always","image":"a"},{"image":null}],"ephemeralContainers":[{}],"containers":[null]}}`,
		`{"spec":{"containers":"not a list"}}`, `{"spec":{"containers":[{"image":5}]}}`, `{"spec":{"containers":[]}} {}`,
		`{"spec":{"containers":[{"im\u0061ge":"esc\u0061ped","Image":"wrong case"}]}}`,
		`{"spec":{"containers":[{"name":"a","image":"x"}],"containers":[{"image":"y"}]}}`,
		`{"spec":{"containers":[{"image":"x","im\u0061ge":"y"}]}}`, `{"metadata":{"name":"a"},"metadata":{"namespace":"b"},"spec":{}}`,
	} {
		f.Add([]byte(s))
	}
	pod := schema.GroupKind{Kind: "Pod"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		lean, leanErr := DecodePodImages(raw)
		full, fullErr := Decode(pod, raw)
		if leanErr != nil {
			if lean != nil {
				t.Errorf("DecodePodImages(%q) = %s, %v, want nil with an error", raw, show(lean), leanErr)
			}
			return
		}
		if fullErr != nil {
			// Decode reads more fields, and refuses a Pod for any of them;
			// never for having no pod at all where DecodePodImages found one.
			if errors.Is(fullErr, ErrNoPodTemplate) {
				t.Errorf("DecodePodImages(%q) = %s, Decode = %v", raw, show(lean), fullErr)
			}
			return
		}
		if got, want := pinFields(lean), pinFields(full); !reflect.DeepEqual(got, want) {
			t.Errorf("DecodePodImages(%q) = %s, want Decode's %s", raw, show(got), show(want))
		}
	})
}

// encoding/json merges a field written twice in one object (the second
// "containers" list decodes into the first one's elements): what the pin
// would read is then unclear, and the API server never sends it. A field
// DecodePodImages reads may appear once; a field it skips, any number of
// times.
func TestDecodePodImagesRefusesAFieldWrittenTwice(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`{"spec":{"containers":[{"name":"a","image":"x"}],"containers":[{"image":"y"}]}}`,
		`{"spec":{"containers":[{"image":"x","im\u0061ge":"y"}]}}`,
		`{"metadata":{"name":"a"},"metadata":{"namespace":"b"},"spec":{}}`,
	} {
		if w, err := DecodePodImages([]byte(raw)); err == nil {
			t.Errorf("DecodePodImages(%s) = %s, want an error", raw, show(w))
		}
	}
	raw := `{"spec":{"containers":[{"image":"x","ports":[],"ports":[]}],"volumes":[],"volumes":[]}}`
	if w, err := DecodePodImages([]byte(raw)); err != nil || len(w.Containers) != 1 || w.Containers[0].Image != "x" {
		t.Errorf("DecodePodImages(%s) = %v, %v; want container image x", raw, w, err)
	}
}
