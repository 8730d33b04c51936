package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The structs Decode filled with sigs.k8s.io/json before it read in one
// pass: kept as the reference Decode must agree with.
type podTemplate struct {
	Spec *podSpec `json:"spec"`
}

type podObject struct {
	Metadata objectMeta `json:"metadata"`
	Spec     *podSpec   `json:"spec"`
}

type templateObject struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Template podTemplate `json:"template"`
	} `json:"spec"`
}

type cronJobObject struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		JobTemplate struct {
			Spec struct {
				Template podTemplate `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
}

type ephemeralContainersObject struct {
	Metadata            objectMeta  `json:"metadata"`
	EphemeralContainers []container `json:"ephemeralContainers"`
}

// decodeByReflection is Decode as it was: the whole object validated, then
// decoded into the structs above, as the API machinery decodes.
func decodeByReflection(gk schema.GroupKind, raw []byte) (*Workload, error) {
	kind := gk.Kind
	if kind == "" {
		return nil, errors.New("decoding workload: no kind given")
	}
	if err := checkObject(raw); err != nil {
		return nil, err
	}
	var (
		meta objectMeta
		spec *podSpec
		err  error
	)
	switch builtinKinds[gk] {
	case podShape:
		var o podObject
		err = unmarshal(raw, &o)
		meta, spec = o.Metadata, o.Spec
	case cronJobShape:
		var o cronJobObject
		err = unmarshal(raw, &o)
		meta, spec = o.Metadata, o.Spec.JobTemplate.Spec.Template.Spec
	case templateShape:
		var o templateObject
		err = unmarshal(raw, &o)
		meta, spec = o.Metadata, o.Spec.Template.Spec
	case ephemeralShape:
		var o ephemeralContainersObject
		err = unmarshal(raw, &o)
		meta, spec = o.Metadata, &podSpec{EphemeralContainers: o.EphemeralContainers}
	default:
		var o templateObject
		err = unmarshal(raw, &o)
		meta, spec = o.Metadata, o.Spec.Template.Spec
		if err == nil && spec != nil && spec.Containers == nil && spec.InitContainers == nil {
			spec = nil
		}
		if err != nil && json.Valid(raw) && !hasPodTemplate(raw) {
			return nil, noPodTemplate(kind, meta.Name)
		}
	}
	if err != nil {
		return nil, err
	}
	if spec == nil {
		return nil, noPodTemplate(kind, meta.Name)
	}
	return &Workload{
		Kind: kind, Name: meta.Name, Namespace: meta.Namespace, Labels: meta.Labels, Annotations: meta.Annotations,
		ServiceAccountName: spec.serviceAccountName(), ImagePullSecrets: spec.imagePullSecrets(), Containers: spec.containers(),
	}, nil
}

// sentByAnAPIServer reports whether raw could come from an API server:
// valid UTF-8, and no member written twice in one object (it decodes into
// a Go value and encodes it again). Only there must Decode agree with the
// reference; elsewhere it may refuse what the reference merged.
func sentByAnAPIServer(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	d := jsontext.NewDecoder(bytes.NewReader(raw))
	for {
		if _, err := d.ReadToken(); err != nil {
			return err == io.EOF
		}
	}
}

// Decode reads what the structs it replaced read: on whatever an API server
// can send, the same workload, or an error where they erred (the same
// ErrNoPodTemplate or not). Where it refuses more (a member written twice,
// invalid UTF-8), it refuses, never decodes something else.
func FuzzDecodeAgreesWithReflection(f *testing.F) {
	addSeeds(f, "Pod", "Deployment", "CronJob", "Widget", "EphemeralContainers")
	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		gk := kindOf(kind)
		got, gotErr := Decode(gk, raw)
		want, wantErr := decodeByReflection(gk, raw)
		if !sentByAnAPIServer(raw) {
			if gotErr == nil && (wantErr != nil || !reflect.DeepEqual(got, want)) {
				t.Errorf("Decode(%q, %q) = %s, want an error or the reference's %s, %v", kind, raw, show(got), show(want), wantErr)
			}
			return
		}
		switch {
		case (gotErr == nil) != (wantErr == nil):
			t.Errorf("Decode(%q, %q) = %s, %v; the reference: %s, %v", kind, raw, show(got), gotErr, show(want), wantErr)
		case errors.Is(gotErr, ErrNoPodTemplate) != errors.Is(wantErr, ErrNoPodTemplate):
			t.Errorf("Decode(%q, %q) error %v; the reference's: %v", kind, raw, gotErr, wantErr)
		case gotErr == nil && !reflect.DeepEqual(got, want):
			t.Errorf("Decode(%q, %q) =\n%s\nthe reference:\n%s", kind, raw, show(got), show(want))
		}
	})
}
