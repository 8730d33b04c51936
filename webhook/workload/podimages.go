package workload

import (
	"fmt"

	"github.com/go-json-experiment/json/jsontext"
)

// DecodePodImages reads raw, a Pod as the API server sends it, for what
// pinning its images needs and nothing else: the name and namespace, the
// service account and pull secrets (whose credentials resolve the images),
// and each container's name, image and restart policy, in Decode's order.
// Labels, annotations, security contexts and the OS are left zero: the
// Workload is for pinning, never for policies.
//
// It is the pin's side of the cost of a call (BenchmarkPin in webhook): one
// pass over the object, as Decode's, skipping every other field without
// decoding it (managedFields, volumes, probes and status are most of what
// the API server sends), and the security contexts and metadata maps too.
// Where Decode reads a field, DecodePodImages agrees with it
// (FuzzDecodePodImagesAgreesWithDecode).
func DecodePodImages(raw []byte) (*Workload, error) {
	if err := checkObject(raw); err != nil {
		return nil, fmt.Errorf("decoding Pod: %w", err)
	}
	meta, spec, err := decodeObject(podShape, raw, pinMembers)
	if err != nil {
		return nil, fmt.Errorf("decoding Pod: %w", err)
	}
	if spec == nil {
		return nil, noPodTemplate("Pod", meta.Name)
	}
	return newPodImages(meta, spec), nil
}

// ReadPodImages is DecodePodImages for the Pod d is about to read, in the
// pass that reads the AdmissionReview around it, as Read is Decode's: an
// error leaves the Pod to DecodePodImages, which says why.
func ReadPodImages(d *jsontext.Decoder) (*Workload, error) {
	if d.PeekKind() != '{' {
		return nil, ErrUnread
	}
	var (
		meta objectMeta
		spec *podSpec
	)
	if err := readShape(d, podShape, &meta, &spec, pinMembers); err != nil {
		return nil, err
	}
	if spec == nil {
		return nil, ErrUnread
	}
	return newPodImages(meta, spec), nil
}

func newPodImages(meta objectMeta, spec *podSpec) *Workload {
	return &Workload{
		Kind:               "Pod",
		Name:               meta.Name,
		Namespace:          meta.Namespace,
		ServiceAccountName: spec.serviceAccountName(),
		ImagePullSecrets:   spec.imagePullSecrets(),
		Containers:         spec.containers(),
	}
}
