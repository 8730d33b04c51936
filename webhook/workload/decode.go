package workload

import (
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	k8sjson "sigs.k8s.io/json"
)

// ErrNoPodTemplate is returned (wrapped) by Decode for an object that carries
// no pod, such as a ConfigMap or a custom resource without spec.template:
// there is nothing to check, and the webhook allows it.
var ErrNoPodTemplate = errors.New("no pod template")

// objectMeta is the part of ObjectMeta that policies see.
type objectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type podTemplate struct {
	Spec *podSpec `json:"spec"`
}

type podObject struct {
	Metadata objectMeta `json:"metadata"`
	Spec     *podSpec   `json:"spec"`
}

// templateObject is any kind with a pod template at spec.template.
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

// unmarshal decodes like the API server does: keys match field names case
// sensitively. encoding/json would also accept "runasuser" for runAsUser, so a
// custom resource that keeps unknown fields could show strata one value while
// its controller, and the kubelet, use another.
func unmarshal(data []byte, v any) error {
	return k8sjson.UnmarshalCaseSensitivePreserveInts(data, v)
}

// shape is where a kind keeps its pod.
type shape int

const (
	customTemplate shape = iota // spec.template, when it is a pod template
	podShape                    // spec
	templateShape               // spec.template
	cronJobShape                // spec.jobTemplate.spec.template
	ephemeralShape              // ephemeralContainers, at the top level
)

// builtinKinds are the Kubernetes kinds strata knows, by group and kind: a
// custom resource that borrows one of their names in its own group is read
// as a custom resource, not as the built-in.
var builtinKinds = map[schema.GroupKind]shape{
	{Group: "", Kind: "Pod"}:                   podShape,
	{Group: "", Kind: "ReplicationController"}: templateShape,
	{Group: "apps", Kind: "Deployment"}:        templateShape,
	{Group: "apps", Kind: "ReplicaSet"}:        templateShape,
	{Group: "apps", Kind: "StatefulSet"}:       templateShape,
	{Group: "apps", Kind: "DaemonSet"}:         templateShape,
	{Group: "batch", Kind: "Job"}:              templateShape,
	{Group: "batch", Kind: "CronJob"}:          cronJobShape,
	// The pods/ephemeralcontainers subresource before Kubernetes 1.22
	// carried this object rather than the Pod.
	{Group: "", Kind: "EphemeralContainers"}: ephemeralShape,
}

// ephemeralContainersObject is the old EphemeralContainers kind.
type ephemeralContainersObject struct {
	Metadata            objectMeta  `json:"metadata"`
	EphemeralContainers []container `json:"ephemeralContainers"`
}

// Decode reads raw, the JSON object or oldObject of an AdmissionReview, as
// the given kind (the request's kind, by group and kind). Pod, CronJob
// (spec.jobTemplate.spec.template), the built-in kinds with a pod template
// at spec.template and every custom resource whose spec.template is a pod
// template (it lists containers or initContainers) are understood. An object
// without a pod yields an error that wraps ErrNoPodTemplate; one that is not
// valid for its kind yields another error.
//
// Only the fields strata reads are decoded; a Pod's ephemeralcontainers
// subresource carries the whole Pod and decodes as one, or, before
// Kubernetes 1.22, an EphemeralContainers object, whose containers are
// decoded without the pod's security context (it does not carry it).
func Decode(gk schema.GroupKind, raw []byte) (*Workload, error) {
	kind := gk.Kind
	if kind == "" {
		return nil, errors.New("decoding workload: no kind given")
	}
	if err := checkObject(raw); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", kind, err)
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
		// A custom resource may have a spec.template of its own that is not
		// a pod template; only one whose spec lists containers or init
		// containers is.
		if err == nil && spec != nil && spec.Containers == nil && spec.InitContainers == nil {
			spec = nil
		}
		if err != nil && json.Valid(raw) && !hasPodTemplate(raw) {
			return nil, noPodTemplate(kind, meta.Name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", kind, err)
	}
	if spec == nil {
		return nil, noPodTemplate(kind, meta.Name)
	}
	return &Workload{
		Kind:               kind,
		Name:               meta.Name,
		Namespace:          meta.Namespace,
		Labels:             meta.Labels,
		Annotations:        meta.Annotations,
		ServiceAccountName: spec.serviceAccountName(),
		ImagePullSecrets:   spec.imagePullSecrets(),
		Containers:         spec.containers(),
	}, nil
}

func noPodTemplate(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%s: %w", kind, ErrNoPodTemplate)
	}
	return fmt.Errorf("%s %s: %w", kind, name, ErrNoPodTemplate)
}

// checkObject refuses what is not a JSON object before decoding, so that the
// message says so rather than naming an internal type.
func checkObject(raw []byte) error {
	switch first(raw) {
	case '{':
		return nil
	case 0:
		return errors.New("empty object")
	case 'n':
		return errors.New("object is null")
	default:
		return errors.New("object is not a JSON object")
	}
}

// hasPodTemplate reports whether the valid JSON object raw has
// spec.template.spec.containers or .initContainers as a list, whatever the
// types elsewhere. It
// runs only when decoding failed, to tell a broken pod template from a custom
// resource without one.
func hasPodTemplate(raw []byte) bool {
	var o struct {
		Spec json.RawMessage `json:"spec"`
	}
	if unmarshal(raw, &o) != nil || first(o.Spec) != '{' {
		return false
	}
	var s struct {
		Template json.RawMessage `json:"template"`
	}
	if unmarshal(o.Spec, &s) != nil || first(s.Template) != '{' {
		return false
	}
	var t struct {
		Spec json.RawMessage `json:"spec"`
	}
	if unmarshal(s.Template, &t) != nil || first(t.Spec) != '{' {
		return false
	}
	var p struct {
		Containers     json.RawMessage `json:"containers"`
		InitContainers json.RawMessage `json:"initContainers"`
	}
	return unmarshal(t.Spec, &p) == nil && (first(p.Containers) == '[' || first(p.InitContainers) == '[')
}

// first returns the first byte of JSON text after white space, or 0.
func first(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}
