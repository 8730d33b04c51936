package workload

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDecodeKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, kind string
		want       *Workload
	}{{
		file: "pod.json", kind: "Pod",
		want: &Workload{
			Kind: "Pod", Name: "web-7d4b9c-x2x9z", Namespace: "shop",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"team": "checkout"},
			ServiceAccountName: "web", ImagePullSecrets: []string{"regcred"},
			Containers: []Container{
				{Name: "migrate", Type: TypeInit, Image: "registry.example.com/shop/migrate:1.2", OS: "linux",
					SecurityContext: SecurityContext{RunAsUser: ptr[int64](1000), RunAsNonRoot: ptr(true)}},
				{Name: "proxy", Type: TypeSidecar, Image: "registry.example.com/mesh/proxy:2", OS: "linux",
					SecurityContext: SecurityContext{RunAsUser: ptr[int64](1337), RunAsGroup: ptr[int64](1337), RunAsNonRoot: ptr(true)}},
				{Name: "web", Type: TypeContainer, Image: "registry.example.com/shop/web:1.2", OS: "linux",
					SecurityContext: SecurityContext{RunAsUser: ptr[int64](1000), RunAsNonRoot: ptr(true)}},
				{Name: "root-helper", Type: TypeContainer, Image: "busybox", OS: "linux",
					SecurityContext: SecurityContext{RunAsUser: ptr[int64](0), RunAsNonRoot: ptr(false)}},
				{Name: "debugger", Type: TypeEphemeral, Image: "busybox:1.36", OS: "linux",
					SecurityContext: SecurityContext{RunAsUser: ptr[int64](1000), RunAsNonRoot: ptr(true)}},
			},
		},
	}, {
		file: "deployment.json", kind: "Deployment",
		want: &Workload{
			Kind: "Deployment", Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"},
			Containers: []Container{{Name: "web", Type: TypeContainer, Image: "registry.example.com/shop/web:1.2",
				SecurityContext: SecurityContext{RunAsNonRoot: ptr(true)}}},
		},
	}, {
		file: "replicaset.json", kind: "ReplicaSet",
		want: &Workload{
			Kind: "ReplicaSet", Name: "web-7d4b9c", Namespace: "shop",
			Containers: []Container{{Name: "web", Type: TypeContainer, Image: "registry.example.com/shop/web:1.2"}},
		},
	}, {
		file: "statefulset.json", kind: "StatefulSet",
		want: &Workload{
			Kind: "StatefulSet", Name: "db", Namespace: "shop",
			Containers: []Container{{Name: "postgres", Type: TypeContainer, Image: "postgres:16",
				SecurityContext: SecurityContext{RunAsUser: ptr[int64](999), RunAsGroup: ptr[int64](999)}}},
		},
	}, {
		file: "daemonset.json", kind: "DaemonSet",
		want: &Workload{
			Kind: "DaemonSet", Name: "node-agent", Namespace: "monitoring",
			Containers: []Container{{Name: "agent", Type: TypeContainer, Image: "registry.example.com/ops/agent:3", OS: "windows",
				SecurityContext: SecurityContext{WindowsRunAsUserName: ptr("ContainerAdministrator")}}},
		},
	}, {
		file: "job.json", kind: "Job",
		want: &Workload{
			Kind: "Job", Name: "report", Namespace: "shop",
			Containers: []Container{{Name: "report", Type: TypeContainer, Image: "registry.example.com/shop/report:5"}},
		},
	}, {
		file: "cronjob.json", kind: "CronJob",
		want: &Workload{
			Kind: "CronJob", Name: "nightly", Namespace: "shop", ServiceAccountName: "nightly",
			Containers: []Container{{Name: "backup", Type: TypeContainer, Image: "registry.example.com/ops/backup:1",
				SecurityContext: SecurityContext{RunAsNonRoot: ptr(true)}}},
		},
	}, {
		file: "replicationcontroller.json", kind: "ReplicationController",
		want: &Workload{
			Kind: "ReplicationController", Name: "legacy", Namespace: "shop", ServiceAccountName: "legacy-sa",
			Containers: []Container{{Name: "legacy", Type: TypeContainer, Image: "nginx:1.27"}},
		},
	}, {
		// A custom resource: found by its spec.template alone.
		file: "rollout.json", kind: "Rollout",
		want: &Workload{
			Kind: "Rollout", Name: "checkout", Namespace: "shop", Labels: map[string]string{"app": "checkout"},
			Containers: []Container{
				{Name: "mesh", Type: TypeSidecar, Image: "registry.example.com/mesh/proxy:2"},
				{Name: "checkout", Type: TypeContainer, Image: "registry.example.com/shop/checkout:4.1"},
			},
		},
	}} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			got, err := Decode(kindOf(tc.kind), fixture(t, tc.file))
			if err != nil {
				t.Fatalf("Decode(%q, %s) error: %v", tc.kind, tc.file, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode(%q, %s) =\n%s\nwant\n%s", tc.kind, tc.file, show(got), show(tc.want))
			}
		})
	}
}

// TestDecodeMatchesFullTypes checks the minimal structs against the real
// Kubernetes types: decoding a fixture into them and calling fromPodSpec
// must give the same containers.
func TestDecodeMatchesFullTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, kind string
		spec       func([]byte) (*corev1.PodSpec, error)
	}{
		{"pod.json", "Pod", specOf(func(o *corev1.Pod) *corev1.PodSpec { return &o.Spec })},
		{"deployment.json", "Deployment", specOf(func(o *appsv1.Deployment) *corev1.PodSpec { return &o.Spec.Template.Spec })},
		{"deployment-realistic.json", "Deployment", specOf(func(o *appsv1.Deployment) *corev1.PodSpec { return &o.Spec.Template.Spec })},
		{"replicaset.json", "ReplicaSet", specOf(func(o *appsv1.ReplicaSet) *corev1.PodSpec { return &o.Spec.Template.Spec })},
		{"statefulset.json", "StatefulSet", specOf(func(o *appsv1.StatefulSet) *corev1.PodSpec { return &o.Spec.Template.Spec })},
		{"daemonset.json", "DaemonSet", specOf(func(o *appsv1.DaemonSet) *corev1.PodSpec { return &o.Spec.Template.Spec })},
		{"job.json", "Job", specOf(func(o *batchv1.Job) *corev1.PodSpec { return &o.Spec.Template.Spec })},
		{"cronjob.json", "CronJob", specOf(func(o *batchv1.CronJob) *corev1.PodSpec { return &o.Spec.JobTemplate.Spec.Template.Spec })},
		{"replicationcontroller.json", "ReplicationController", specOf(func(o *corev1.ReplicationController) *corev1.PodSpec { return &o.Spec.Template.Spec })},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			raw := fixture(t, tc.file)
			spec, err := tc.spec(raw)
			if err != nil {
				t.Fatal(err)
			}
			w, err := Decode(kindOf(tc.kind), raw)
			if err != nil {
				t.Fatalf("Decode(%q, %s) error: %v", tc.kind, tc.file, err)
			}
			if want := fromPodSpec(spec); !reflect.DeepEqual(w.Containers, want) {
				t.Errorf("Decode(%q, %s).Containers =\n%s\nwant fromPodSpec of the full type\n%s", tc.kind, tc.file, showContainers(w.Containers), showContainers(want))
			}
		})
	}
}

func specOf[T any](spec func(*T) *corev1.PodSpec) func([]byte) (*corev1.PodSpec, error) {
	return func(raw []byte) (*corev1.PodSpec, error) {
		var o T
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		return spec(&o), nil
	}
}

func TestDecodeRealisticDeployment(t *testing.T) {
	t.Parallel()
	w, err := Decode(kindOf("Deployment"), fixture(t, "deployment-realistic.json"))
	if err != nil {
		t.Fatalf("Decode(Deployment, deployment-realistic.json) error: %v", err)
	}
	want := []Container{
		{Name: "web", Type: TypeContainer, Image: "registry.example.com/shop/web:1.2.0",
			SecurityContext: SecurityContext{RunAsUser: ptr[int64](10001), RunAsNonRoot: ptr(true)}},
		{Name: "log-shipper", Type: TypeContainer, Image: "registry.example.com/ops/fluent-bit:3.1",
			SecurityContext: SecurityContext{RunAsUser: ptr[int64](0), RunAsNonRoot: ptr(false)}},
		{Name: "metrics", Type: TypeContainer, Image: "registry.example.com/ops/exporter:0.15@sha256:" + strings.Repeat("ab", 32),
			SecurityContext: SecurityContext{RunAsUser: ptr[int64](65534), RunAsNonRoot: ptr(true)}},
	}
	if !reflect.DeepEqual(w.Containers, want) {
		t.Errorf("Decode(Deployment, deployment-realistic.json).Containers =\n%s\nwant\n%s", showContainers(w.Containers), showContainers(want))
	}
	if w.ServiceAccountName != "web" || !reflect.DeepEqual(w.ImagePullSecrets, []string{"regcred"}) || w.Labels["team"] != "checkout" {
		t.Errorf("Decode(Deployment, deployment-realistic.json) = %s, want service account web, pull secret regcred, label team=checkout", show(w))
	}
}

func TestDecodeNoPodTemplate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, kind, raw string
	}{
		{"ConfigMap", "ConfigMap", string(fixture(t, "configmap.json"))},
		{"CRD with a Secret template", "SealedSecret", string(fixture(t, "sealedsecret.json"))},
		{"CRD without spec", "Widget", `{"metadata":{"name":"w"}}`},
		{"CRD with a string spec", "Widget", `{"metadata":{"name":"w"},"spec":"x"}`},
		{"CRD with a string template", "Widget", `{"spec":{"template":"{{ .Values.x }}"}}`},
		{"CRD with a list template", "Widget", `{"spec":{"template":[1,2]}}`},
		{"CRD with a string template spec", "Widget", `{"spec":{"template":{"spec":"x"}}}`},
		{"CRD template without containers", "Widget", `{"spec":{"template":{"spec":{"replicas":3}}}}`},
		{"CRD template with null containers", "Widget", `{"spec":{"template":{"spec":{"containers":null}}}}`},
		{"CRD template of another schema", "Widget", `{"spec":{"template":{"spec":{"initContainers":"x"}}}}`},
		{"CRD with odd metadata and no template", "Widget", `{"metadata":{"labels":["a"]},"spec":{"size":1}}`},
		{"CRD with a template at another path", "Job", `{"spec":{"tasks":[{"template":{"spec":{"containers":[{"image":"x"}]}}}]}}`},
		{"Deployment without template", "Deployment", `{"metadata":{"name":"web"},"spec":{"replicas":1}}`},
		{"Deployment with null template", "Deployment", `{"spec":{"template":null}}`},
		{"Deployment with an empty template", "Deployment", `{"spec":{"template":{}}}`},
		{"CronJob without jobTemplate", "CronJob", `{"spec":{"schedule":"* * * * *"}}`},
		{"Pod without spec", "Pod", `{"metadata":{"name":"p"}}`},
		{"Pod with null spec", "Pod", `{"spec":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := Decode(kindOf(tc.kind), []byte(tc.raw))
			if !errors.Is(err, ErrNoPodTemplate) || w != nil || !strings.HasPrefix(err.Error(), tc.kind) {
				t.Errorf("Decode(%q, %s) = %s, %v, want nil and ErrNoPodTemplate naming the kind", tc.kind, tc.raw, show(w), err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, kind, raw, want string
	}{
		{"no kind", "", `{"spec":{"containers":[]}}`, "no kind"},
		{"empty", "Pod", ``, "empty object"},
		{"white space", "Deployment", " \n\t", "empty object"},
		{"null", "Pod", `null`, "object is null"},
		{"null with space", "Deployment", ` null `, "object is null"},
		{"array", "Deployment", `[]`, "not a JSON object"},
		{"string", "Pod", `"pod"`, "not a JSON object"},
		{"number", "Rollout", `42`, "not a JSON object"},
		{"truncated", "Pod", `{"spec":{"containers":[`, "decoding Pod"},
		{"trailing data", "Pod", `{"spec":{}} {}`, "decoding Pod"},
		{"not JSON", "Deployment", `{spec: {}}`, "decoding Deployment"},
		{"containers a string", "Deployment", `{"spec":{"template":{"spec":{"containers":"web"}}}}`, "decoding Deployment"},
		{"runAsUser a string", "Pod", `{"spec":{"securityContext":{"runAsUser":"0"},"containers":[]}}`, "decoding Pod"},
		{"runAsUser a fraction", "Pod", `{"spec":{"containers":[{"name":"a","securityContext":{"runAsUser":0.5}}]}}`, "decoding Pod"},
		{"runAsUser too large", "Pod", `{"spec":{"containers":[{"name":"a","securityContext":{"runAsUser":99999999999999999999}}]}}`, "decoding Pod"},
		{"runAsNonRoot a string", "Job", `{"spec":{"template":{"spec":{"containers":[{"securityContext":{"runAsNonRoot":"true"}}]}}}}`, "decoding Job"},
		{"image a number", "StatefulSet", `{"spec":{"template":{"spec":{"containers":[{"image":5}]}}}}`, "decoding StatefulSet"},
		{"labels a list", "Pod", `{"metadata":{"labels":["a"]},"spec":{"containers":[]}}`, "decoding Pod"},
		{"spec a string", "Deployment", `{"spec":"x"}`, "decoding Deployment"},
		{"template a string", "DaemonSet", `{"spec":{"template":"x"}}`, "decoding DaemonSet"},
		{"jobTemplate a list", "CronJob", `{"spec":{"jobTemplate":[]}}`, "decoding CronJob"},
		{"CRD truncated", "Rollout", `{"spec":{"template":{"spec":{"containers":[`, "decoding Rollout"},
		{"CRD not JSON", "Widget", `{"spec": nope}`, "decoding Widget"},
		// A custom resource with a real pod template is checked, so a
		// broken one is an error rather than "nothing to check".
		{"CRD pod template with a bad runAsUser", "Rollout", `{"spec":{"template":{"spec":{"containers":[{"name":"a","securityContext":{"runAsUser":"root"}}]}}}}`, "decoding Rollout"},
		{"CRD pod template with bad labels", "Rollout", `{"metadata":{"labels":"x"},"spec":{"template":{"spec":{"containers":[]}}}}`, "decoding Rollout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := Decode(kindOf(tc.kind), []byte(tc.raw))
			if err == nil || errors.Is(err, ErrNoPodTemplate) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode(%q, %s) = %s, %v, want an error containing %q", tc.kind, tc.raw, show(w), err, tc.want)
			}
			if w != nil {
				t.Errorf("Decode(%q, %s) = %s with an error, want nil", tc.kind, tc.raw, show(w))
			}
		})
	}
}

// TestDecodeIsCaseSensitive: the API server and the kubelet read runAsUser,
// not runasuser. A custom resource that keeps unknown fields must not show
// strata a different container from the one that runs.
func TestDecodeIsCaseSensitive(t *testing.T) {
	t.Parallel()
	raw := `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"good:1","Image":"other:1",` +
		`"securityContext":{"runAsUser":0,"runasuser":1000,"RunAsNonRoot":true}}]}}}}`
	w, err := Decode(kindOf("Rollout"), []byte(raw))
	if err != nil {
		t.Fatalf("Decode(Rollout, %s) error: %v", raw, err)
	}
	want := []Container{{Name: "app", Type: TypeContainer, Image: "good:1", SecurityContext: SecurityContext{RunAsUser: ptr[int64](0)}}}
	if !reflect.DeepEqual(w.Containers, want) {
		t.Errorf("Decode(Rollout, %s).Containers = %s, want %s", raw, showContainers(w.Containers), showContainers(want))
	}
}

// TestDecodeEphemeralContainersUpdate: kubectl debug updates the
// pods/ephemeralcontainers subresource, and the request carries whole Pods.
func TestDecodeEphemeralContainersUpdate(t *testing.T) {
	t.Parallel()
	var req admissionv1.AdmissionRequest
	if err := json.Unmarshal(fixture(t, "ephemeralcontainers-request.json"), &req); err != nil {
		t.Fatal(err)
	}
	if req.SubResource != "ephemeralcontainers" || req.Kind != (metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}) {
		t.Fatalf("fixture is a %s %s request, want pods/ephemeralcontainers", req.Kind, req.SubResource)
	}
	newW, err := Decode(kindOf(req.Kind.Kind), req.Object.Raw)
	if err != nil {
		t.Fatalf("Decode(Pod, object) error: %v", err)
	}
	oldW, err := Decode(kindOf(req.Kind.Kind), req.OldObject.Raw)
	if err != nil {
		t.Fatalf("Decode(Pod, oldObject) error: %v", err)
	}
	want := []Container{
		{Name: "web", Type: TypeContainer, Image: "registry.example.com/shop/web:1.2",
			SecurityContext: SecurityContext{RunAsUser: ptr[int64](1000), RunAsNonRoot: ptr(true)}},
		{Name: "debugger-8fkq2", Type: TypeEphemeral, Image: "busybox:1.36",
			SecurityContext: SecurityContext{RunAsUser: ptr[int64](0), RunAsNonRoot: ptr(true)}},
	}
	if !reflect.DeepEqual(newW.Containers, want) {
		t.Errorf("Decode(Pod, object).Containers = %s, want %s", showContainers(newW.Containers), showContainers(want))
	}
	if !ContainersChanged(oldW, newW) {
		t.Errorf("ContainersChanged(old, new) = false, want true: an ephemeral container was added")
	}
}
