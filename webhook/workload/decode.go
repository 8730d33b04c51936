package workload

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-json-experiment/json/jsontext"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8sjson "sigs.k8s.io/json"

	"github.com/strata-project/strata/webhook/internal/jsonread"
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

// unmarshal decodes like the API server does: keys match field names case
// sensitively. encoding/json would also accept "runasuser" for runAsUser, so a
// custom resource that keeps unknown fields could show strata one value while
// its controller, and the kubelet, use another. Decode's own readers match
// case sensitively too; this is for hasPodTemplate.
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

// Decode reads raw, the JSON object or oldObject of an AdmissionReview, as
// the given kind (the request's kind, by group and kind). Pod, CronJob
// (spec.jobTemplate.spec.template), the built-in kinds with a pod template
// at spec.template and every custom resource whose spec.template is a pod
// template (it lists containers or initContainers) are understood. An object
// without a pod yields an error that wraps ErrNoPodTemplate; one that is not
// valid for its kind yields another error.
//
// Only the fields strata reads are decoded, in one pass that skips the rest
// unread, matching names case sensitively as the API server does. On all an
// API server sends it agrees with sigs.k8s.io/json, the API machinery's
// decoder (FuzzDecodeAgreesWithReflection); it refuses what an API server
// never sends and encoding/json would merge or mend: a member it reads
// written twice in one object, invalid UTF-8. A Pod's ephemeralcontainers
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
	shape := builtinKinds[gk]
	meta, spec, err := decodeObject(shape, raw, policyMembers)
	if shape == customTemplate {
		// A custom resource may have a spec.template of its own that is
		// not a pod template; only one whose spec lists containers or init
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
	return newWorkload(kind, meta, spec), nil
}

// ErrUnread is Read's answer for an object it leaves to Decode.
var ErrUnread = errors.New("left for Decode")

// Read is Decode for the object d is about to read, in the pass that reads
// the AdmissionReview around it, so that the object is read once. It reads
// only an object with a pod where its kind keeps one; for anything else
// (not an object, no pod, an object Decode would refuse) it returns an
// error, often before the object's end, and the caller decodes the object's
// bytes with Decode, which says why. Where Read returns a workload, Decode
// returns the same (FuzzReadAgreesWithDecode).
func Read(gk schema.GroupKind, d *jsontext.Decoder) (*Workload, error) {
	if gk.Kind == "" || d.PeekKind() != '{' {
		return nil, ErrUnread
	}
	shape := builtinKinds[gk]
	var (
		meta objectMeta
		spec *podSpec
	)
	if err := readShape(d, shape, &meta, &spec, policyMembers); err != nil {
		return nil, err
	}
	if spec == nil || shape == customTemplate && spec.Containers == nil && spec.InitContainers == nil {
		return nil, ErrUnread
	}
	return newWorkload(gk.Kind, meta, spec), nil
}

func newWorkload(kind string, meta objectMeta, spec *podSpec) *Workload {
	return &Workload{
		Kind:               kind,
		Name:               meta.Name,
		Namespace:          meta.Namespace,
		Labels:             meta.Labels,
		Annotations:        meta.Annotations,
		ServiceAccountName: spec.serviceAccountName(),
		ImagePullSecrets:   spec.imagePullSecrets(),
		Containers:         spec.containers(),
	}
}

// podPaths are the members that lead from an object to its pod spec, by
// shape.
var podPaths = map[shape][]string{
	customTemplate: {"spec", "template", "spec"},
	podShape:       {"spec"},
	templateShape:  {"spec", "template", "spec"},
	cronJobShape:   {"spec", "jobTemplate", "spec", "template", "spec"},
}

// decodeObject reads raw's metadata and pod spec in one pass: a nil spec
// when the object has none where its shape keeps it. Decoding once, and
// only what strata reads, is most of what a warm admission costs strata
// beyond what any webhook pays (BenchmarkDecode).
func decodeObject(shape shape, raw []byte, m members) (meta objectMeta, spec *podSpec, err error) {
	err = jsonread.Decode(raw, func(d *jsontext.Decoder) error { return readShape(d, shape, &meta, &spec, m) })
	return meta, spec, err
}

// readShape reads the object at d, of shape, into *meta and *spec.
func readShape(d *jsontext.Decoder, shape shape, meta *objectMeta, spec **podSpec, m members) error {
	if shape == ephemeralShape {
		// Before Kubernetes 1.22, the pods/ephemeralcontainers
		// subresource's own kind: its containers, without the pod's
		// security context.
		s := &podSpec{}
		*spec = s
		return jsonread.Object(d, ephemeralTopFields, func(field int) error {
			if field == 0 {
				return readMeta(d, meta, m)
			}
			return readContainers(d, &s.EphemeralContainers, m.container)
		})
	}
	path := podPaths[shape]
	return jsonread.Object(d, []string{"metadata", path[0]}, func(field int) error {
		if field == 0 {
			return readMeta(d, meta, m)
		}
		return readPath(d, path[1:], spec, m)
	})
}

// readPath follows path, member by member, to a pod spec and reads it into
// *spec; a null on the way leaves it nil.
func readPath(d *jsontext.Decoder, path []string, spec **podSpec, m members) error {
	if len(path) > 0 {
		return jsonread.Object(d, path[:1], func(int) error { return readPath(d, path[1:], spec, m) })
	}
	return jsonread.Pointer(d, spec, func(s *podSpec) error { return readSpec(d, s, m) })
}

// readSpec reads a pod spec's members that m names.
func readSpec(d *jsontext.Decoder, s *podSpec, m members) error {
	return jsonread.Object(d, m.spec, func(field int) error {
		switch field {
		case 0:
			return readContainers(d, &s.InitContainers, m.container)
		case 1:
			return readContainers(d, &s.Containers, m.container)
		case 2:
			return readContainers(d, &s.EphemeralContainers, m.container)
		case 3:
			return jsonread.String(d, &s.ServiceAccountName)
		case 4:
			return jsonread.String(d, &s.ServiceAccount)
		case 5:
			return readPullSecrets(d, &s.ImagePullSecrets)
		case 6:
			return readSecurity(d, &s.SecurityContext)
		}
		return jsonread.Pointer(d, &s.OS, func(os *podOS) error {
			return jsonread.Object(d, nameField, func(int) error { return jsonread.String(d, &os.Name) })
		})
	})
}

func readMeta(d *jsontext.Decoder, meta *objectMeta, m members) error {
	return jsonread.Object(d, m.meta, func(field int) error {
		switch field {
		case 0:
			return jsonread.String(d, &meta.Name)
		case 1:
			return jsonread.String(d, &meta.Namespace)
		case 2:
			return jsonread.StringMap(d, &meta.Labels)
		}
		return jsonread.StringMap(d, &meta.Annotations)
	})
}

// members are the members read, by object; jsonread.Object passes their index,
// so that a shorter list reads the first of them. Policies need them all;
// the pin, what names and pulls the images.
type members struct{ meta, spec, container []string }

var (
	policyMembers = members{
		meta:      []string{"name", "namespace", "labels", "annotations"},
		spec:      []string{"initContainers", "containers", "ephemeralContainers", "serviceAccountName", "serviceAccount", "imagePullSecrets", "securityContext", "os"},
		container: []string{"name", "image", "restartPolicy", "securityContext"},
	}
	pinMembers = members{meta: policyMembers.meta[:2], spec: policyMembers.spec[:6], container: policyMembers.container[:3]}

	securityFieldNames = []string{"runAsUser", "runAsGroup", "runAsNonRoot", "windowsOptions"}
	windowsFields      = []string{"runAsUserName"}
	nameField          = []string{"name"}
	ephemeralTopFields = []string{"metadata", "ephemeralContainers"}
)

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
