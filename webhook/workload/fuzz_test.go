package workload

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for file, kind := range map[string]string{
		"pod.json": "Pod", "deployment.json": "Deployment", "deployment-realistic.json": "Deployment",
		"replicaset.json": "ReplicaSet", "statefulset.json": "StatefulSet", "daemonset.json": "DaemonSet",
		"job.json": "Job", "cronjob.json": "CronJob", "replicationcontroller.json": "ReplicationController",
		"rollout.json": "Rollout", "configmap.json": "ConfigMap", "sealedsecret.json": "SealedSecret",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(kind, b)
	}
	for _, s := range []string{``, `null`, `[]`, `{"spec":null}`, `{"spec":{"template":"x"}}`,
		`{"spec":{"template":{"spec":{"containers":[{"securityContext":{"runAsUser":"0"}}]}}}}`,
		`{"spec":{"initContainers":[{"restartPolicy":"Always"}],"ephemeralContainers":[{}],"containers":[null]}}`} {
		f.Add("Pod", []byte(s))
		f.Add("Widget", []byte(s))
		f.Add("EphemeralContainers", []byte(s))
	}

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
