package workload

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/strata-project/strata/webhook/internal/jsonread"
)

// fuzzFixtures are the fuzz tests' seed objects, by file, with their kind.
var fuzzFixtures = map[string]string{
	"pod.json": "Pod", "deployment.json": "Deployment", "deployment-realistic.json": "Deployment",
	"replicaset.json": "ReplicaSet", "statefulset.json": "StatefulSet", "daemonset.json": "DaemonSet",
	"job.json": "Job", "cronjob.json": "CronJob", "replicationcontroller.json": "ReplicationController",
	"rollout.json": "Rollout", "configmap.json": "ConfigMap", "sealedsecret.json": "SealedSecret",
}

// fuzzSeeds are small objects at the edges of what Decode reads: nulls,
// empty lists, wrong types, numbers an int64 does not hold, escapes.
var fuzzSeeds = []string{``, `null`, `[]`, `{}`, `{"spec":null}`, `{"spec":{"template":"x"}}`,
	`{"spec":{"template":{"spec":{"containers":[{"securityContext":{"runAsUser":"0"}}]}}}}`,
	`{"spec":{"initContainers":[{"restartPolicy":"Always"}],"ephemeralContainers":[{}],"containers":[null]}}`,
	`{"metadata":{"name":"a","labels":{"x":null,"y":"z"},"annotations":null},"spec":{"containers":[],"os":null,"securityContext":null}}`,
	`{"spec":{"securityContext":{"runAsUser":-0,"runAsGroup":null,"runAsNonRoot":null,"windowsOptions":{"runAsUserName":null}},"containers":[{"securityContext":{"runAsUser":1e3}}]}}`,
	`{"spec":{"template":{"spec":{"os":{"name":"windows"},"containers":[{"name":"\u0061","securityContext":{"windowsOptions":null,"runAsNonRoot":false}}],"imagePullSecrets":[null,{"name":""},{"name":"r"}]}}}}`,
	`{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"initContainers":[]}}}}}}`,
	`{"metadata":{"labels":{}},"spec":{"template":{"spec":{"containers":[{"image":"x","securityContext":{"runAsUser":9223372036854775808}}]}}}}`,
	`{"ephemeralContainers":[{"name":"d","image":"busybox","securityContext":{"runAsUser":0}}],"metadata":{"namespace":"n"}}`,
}

// addSeeds adds the fixtures with their kinds, and each seed with each of
// kinds.
func addSeeds(f *testing.F, kinds ...string) {
	for file, kind := range fuzzFixtures {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(kind, b)
	}
	for _, s := range fuzzSeeds {
		for _, kind := range kinds {
			f.Add(kind, []byte(s))
		}
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f, "Pod", "Widget", "EphemeralContainers")

	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		w, err := Decode(kindOf(kind), raw)
		if err != nil {
			if w != nil {
				t.Errorf("Decode(%q, %q) = %s, %v, want nil with an error", kind, raw, show(w), err)
			}
			return
		}
		if w == nil {
			t.Fatalf("Decode(%q, %q) = nil, nil", kind, raw)
		}
		for _, c := range w.Containers {
			switch c.Type {
			case TypeContainer, TypeInit, TypeSidecar, TypeEphemeral:
			default:
				t.Errorf("Decode(%q, %q) has container %q of type %q", kind, raw, c.Name, c.Type)
			}
		}
		if ContainersChanged(w, w) {
			t.Errorf("Decode(%q, %q) = %s, which differs from itself", kind, raw, show(w))
		}
	})
}

// FuzzReadAgreesWithDecode: where Read, in the pass of a review around the
// object, returns a workload, Decode of the object's bytes returns the same
// one; and ReadPodImages, DecodePodImages's. Where they leave the object,
// the decoders still say what it is.
func FuzzReadAgreesWithDecode(f *testing.F) {
	addSeeds(f, "Pod", "Widget", "EphemeralContainers", "CronJob")

	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		var read *Workload
		readErr := jsonread.Decode(raw, func(d *jsontext.Decoder) (err error) {
			read, err = Read(kindOf(kind), d)
			return err
		})
		decoded, err := Decode(kindOf(kind), raw)
		if readErr == nil && (err != nil || !reflect.DeepEqual(read, decoded)) {
			t.Errorf("Read(%q, %q) = %s; Decode = %s, %v", kind, raw, show(read), show(decoded), err)
		}
		readErr = jsonread.Decode(raw, func(d *jsontext.Decoder) (err error) {
			read, err = ReadPodImages(d)
			return err
		})
		decoded, err = DecodePodImages(raw)
		if readErr == nil && (err != nil || !reflect.DeepEqual(read, decoded)) {
			t.Errorf("ReadPodImages(%q) = %s; DecodePodImages = %s, %v", raw, show(read), show(decoded), err)
		}
	})
}
