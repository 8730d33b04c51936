package workload

import (
	"encoding/json"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	k8sjson "sigs.k8s.io/json"
)

// BenchmarkDecode decodes a Deployment as the API server sends it (three
// containers, managedFields, last-applied annotation, status) five ways:
// Decode's one pass, and the minimal structs it used to fill and the full
// appsv1 type, each with sigs.k8s.io/json (the API machinery's) and
// encoding/json.
func BenchmarkDecode(b *testing.B) {
	raw := fixture(b, "deployment-realistic.json")
	want, err := Decode(kindOf("Deployment"), raw)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		decode func([]byte) (*Workload, error)
	}{
		{"one-pass", func(raw []byte) (*Workload, error) { return Decode(kindOf("Deployment"), raw) }},
		{"minimal/sigs.k8s.io-json", minimalWith(unmarshal)},
		{"minimal/encoding-json", minimalWith(json.Unmarshal)},
		{"full/sigs.k8s.io-json", fullWith(k8sjson.UnmarshalCaseSensitivePreserveInts)},
		{"full/encoding-json", fullWith(json.Unmarshal)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if got, err := bc.decode(raw); err != nil || !reflect.DeepEqual(got, want) {
				b.Fatalf("decode(deployment-realistic.json) = %s, %v, want %s", show(got), err, show(want))
			}
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func minimalWith(unmarshal func([]byte, any) error) func([]byte) (*Workload, error) {
	return func(raw []byte) (*Workload, error) {
		var o templateObject
		if err := unmarshal(raw, &o); err != nil {
			return nil, err
		}
		spec := o.Spec.Template.Spec
		return &Workload{
			Kind: "Deployment", Name: o.Metadata.Name, Namespace: o.Metadata.Namespace,
			Labels: o.Metadata.Labels, Annotations: o.Metadata.Annotations,
			ServiceAccountName: spec.serviceAccountName(), ImagePullSecrets: spec.imagePullSecrets(),
			Containers: spec.containers(),
		}, nil
	}
}

func fullWith(unmarshal func([]byte, any) error) func([]byte) (*Workload, error) {
	return func(raw []byte) (*Workload, error) {
		var d appsv1.Deployment
		if err := unmarshal(raw, &d); err != nil {
			return nil, err
		}
		spec := &d.Spec.Template.Spec
		var secrets []string
		for _, s := range spec.ImagePullSecrets {
			if s.Name != "" {
				secrets = append(secrets, s.Name)
			}
		}
		return &Workload{
			Kind: "Deployment", Name: d.Name, Namespace: d.Namespace,
			Labels: d.Labels, Annotations: d.Annotations,
			ServiceAccountName: spec.ServiceAccountName, ImagePullSecrets: secrets,
			Containers: fromPodSpec(spec),
		}, nil
	}
}

func BenchmarkContainersChanged(b *testing.B) {
	raw := fixture(b, "deployment-realistic.json")
	oldW, err := Decode(kindOf("Deployment"), raw)
	if err != nil {
		b.Fatal(err)
	}
	newW, err := Decode(kindOf("Deployment"), raw)
	if err != nil {
		b.Fatal(err)
	}
	newW.Containers[0], newW.Containers[2] = newW.Containers[2], newW.Containers[0]
	b.Run("same order", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ContainersChanged(oldW, oldW) {
				b.Fatal("changed")
			}
		}
	})
	b.Run("reordered", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ContainersChanged(oldW, newW) {
				b.Fatal("changed")
			}
		}
	})
}
