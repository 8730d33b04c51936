package workload

import (
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestFromPodSpecTypesAndOrder(t *testing.T) {
	t.Parallel()
	always := corev1.ContainerRestartPolicyAlways
	spec := &corev1.PodSpec{
		OS: &corev1.PodOS{Name: corev1.Windows},
		InitContainers: []corev1.Container{
			{Name: "init-a", Image: "a"},
			{Name: "sidecar", Image: "s", RestartPolicy: &always},
			{Name: "init-b", Image: "b"},
		},
		Containers: []corev1.Container{{Name: "app", Image: "app"}, {Name: "helper", Image: "h"}},
		EphemeralContainers: []corev1.EphemeralContainer{
			{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}},
		},
	}
	want := []Container{
		{Name: "init-a", Type: TypeInit, Image: "a", OS: "windows"},
		{Name: "sidecar", Type: TypeSidecar, Image: "s", OS: "windows"},
		{Name: "init-b", Type: TypeInit, Image: "b", OS: "windows"},
		{Name: "app", Type: TypeContainer, Image: "app", OS: "windows"},
		{Name: "helper", Type: TypeContainer, Image: "h", OS: "windows"},
		{Name: "debug", Type: TypeEphemeral, Image: "busybox", OS: "windows"},
	}
	if got := fromPodSpec(spec); !reflect.DeepEqual(got, want) {
		t.Errorf("fromPodSpec(spec) =\n%s\nwant\n%s", showContainers(got), showContainers(want))
	}
}

func TestFromPodSpecEmpty(t *testing.T) {
	t.Parallel()
	if got := fromPodSpec(nil); got != nil {
		t.Errorf("fromPodSpec(nil) = %s, want nil", showContainers(got))
	}
	if got := fromPodSpec(&corev1.PodSpec{}); got != nil {
		t.Errorf("fromPodSpec(empty) = %s, want nil", showContainers(got))
	}
}

// TestEffectiveSecurityContext runs each case through both entry points,
// Decode and fromPodSpec, from the same JSON.
func TestEffectiveSecurityContext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, pod, ctr string // securityContext JSON, "" for none
		want           SecurityContext
	}{
		{"neither", "", "", SecurityContext{}},
		{"both empty", `{}`, `{}`, SecurityContext{}},
		{"pod only", `{"runAsUser":1000,"runAsGroup":3000,"runAsNonRoot":true}`, "",
			SecurityContext{RunAsUser: ptr[int64](1000), RunAsGroup: ptr[int64](3000), RunAsNonRoot: ptr(true)}},
		{"container only", "", `{"runAsUser":1000,"runAsGroup":3000,"runAsNonRoot":true}`,
			SecurityContext{RunAsUser: ptr[int64](1000), RunAsGroup: ptr[int64](3000), RunAsNonRoot: ptr(true)}},
		{"empty container context keeps the pod's", `{"runAsUser":1000}`, `{}`, SecurityContext{RunAsUser: ptr[int64](1000)}},
		{"container non-root over pod root", `{"runAsUser":0}`, `{"runAsUser":1000}`, SecurityContext{RunAsUser: ptr[int64](1000)}},
		{"container root over pod non-root", `{"runAsUser":1000}`, `{"runAsUser":0}`, SecurityContext{RunAsUser: ptr[int64](0)}},
		{"container runAsNonRoot false over pod true", `{"runAsNonRoot":true}`, `{"runAsNonRoot":false}`, SecurityContext{RunAsNonRoot: ptr(false)}},
		{"container runAsNonRoot true over pod false", `{"runAsNonRoot":false}`, `{"runAsNonRoot":true}`, SecurityContext{RunAsNonRoot: ptr(true)}},
		{"container group over pod group", `{"runAsGroup":0}`, `{"runAsGroup":2000}`, SecurityContext{RunAsGroup: ptr[int64](2000)}},
		{"field by field", `{"runAsUser":1000,"runAsNonRoot":true}`, `{"runAsGroup":2000,"runAsUser":0}`,
			SecurityContext{RunAsUser: ptr[int64](0), RunAsGroup: ptr[int64](2000), RunAsNonRoot: ptr(true)}},
		{"windows container over pod", `{"windowsOptions":{"runAsUserName":"ContainerUser"}}`, `{"windowsOptions":{"runAsUserName":"ContainerAdministrator"}}`,
			SecurityContext{WindowsRunAsUserName: ptr("ContainerAdministrator")}},
		{"windows pod over container without a user name", `{"windowsOptions":{"runAsUserName":"ContainerUser"}}`, `{"windowsOptions":{"hostProcess":false}}`,
			SecurityContext{WindowsRunAsUserName: ptr("ContainerUser")}},
		{"windows pod only", `{"windowsOptions":{"runAsUserName":"ContainerUser"}}`, "", SecurityContext{WindowsRunAsUserName: ptr("ContainerUser")}},
		{"windows container only", `{"runAsNonRoot":true}`, `{"windowsOptions":{"runAsUserName":"ContainerAdministrator"}}`,
			SecurityContext{RunAsNonRoot: ptr(true), WindowsRunAsUserName: ptr("ContainerAdministrator")}},
		{"windows options without a user name", `{"windowsOptions":{"gmsaCredentialSpecName":"gmsa"}}`, `{"windowsOptions":{}}`, SecurityContext{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			specJSON := `{"containers":[{"name":"app","image":"app"`
			if tc.ctr != "" {
				specJSON += `,"securityContext":` + tc.ctr
			}
			specJSON += `}]`
			if tc.pod != "" {
				specJSON += `,"securityContext":` + tc.pod
			}
			specJSON += `}`
			want := []Container{{Name: "app", Type: TypeContainer, Image: "app", SecurityContext: tc.want}}

			w, err := Decode(kindOf("Pod"), []byte(`{"spec":`+specJSON+`}`))
			if err != nil {
				t.Fatalf("Decode(Pod, %s) error: %v", specJSON, err)
			}
			if !reflect.DeepEqual(w.Containers, want) {
				t.Errorf("Decode(Pod, %s).Containers = %s, want %s", specJSON, showContainers(w.Containers), showContainers(want))
			}

			var spec corev1.PodSpec
			if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
				t.Fatal(err)
			}
			if got := fromPodSpec(&spec); !reflect.DeepEqual(got, want) {
				t.Errorf("fromPodSpec(%s) = %s, want %s", specJSON, showContainers(got), showContainers(want))
			}
		})
	}
}

// TestFromPodSpecCopies: the effective context is the caller's to change;
// it shares no pointer with the spec or with another container.
func TestFromPodSpecCopies(t *testing.T) {
	t.Parallel()
	spec := &corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr[int64](1000)},
		Containers:      []corev1.Container{{Name: "a"}, {Name: "b"}},
	}
	got := fromPodSpec(spec)
	*got[0].SecurityContext.RunAsUser = 0
	if *spec.SecurityContext.RunAsUser != 1000 || *got[1].SecurityContext.RunAsUser != 1000 {
		t.Errorf("fromPodSpec(spec)[0].RunAsUser aliases: spec %d, [1] %d after a write to [0], want 1000 and 1000",
			*spec.SecurityContext.RunAsUser, *got[1].SecurityContext.RunAsUser)
	}
}

// TestContainerJSON: a Container marshals to the policy input's container
// object (docs/policy-input.md), absent fields left out.
func TestContainerJSON(t *testing.T) {
	t.Parallel()
	c := Container{Name: "web", Type: TypeContainer, Image: "registry.example.com/shop/web:1.2",
		SecurityContext: SecurityContext{RunAsNonRoot: ptr(true)}}
	got, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"web","type":"container","image":"registry.example.com/shop/web:1.2","os":"","securityContext":{"runAsNonRoot":true}}`
	if string(got) != want {
		t.Errorf("json.Marshal(%+v) = %s, want %s", c, got, want)
	}
}
