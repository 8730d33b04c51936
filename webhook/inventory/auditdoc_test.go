package inventory

import (
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/audit.md: running pods that do not run their owner's containers, an
// ephemeral debug container or an injected sidecar among them, are a
// workload of their own, named after the newest of them, and are not
// counted under the owner.
func TestListClusterGivesPodsWithDebugOrSidecarContainersAWorkloadOfTheirOwn(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, "../../docs/audit.md",
		"running pods that do not run their owner's containers (an image set on the pod, an `OnDelete` StatefulSet's old pods, an ephemeral debug container, an injected sidecar) are a workload of their own, `namespace/Pod/<newest of them>`, and are not counted under the owner.")
	const image = "registry.example/shop/web:1.0"
	rs := controllerRef("apps/v1", "ReplicaSet", "web-1", "rs-web")
	pod := func(name string, age time.Duration, edit func(*corev1.Pod)) *corev1.Pod {
		p := runningPod("shop", name, "uid-"+name, image, rs)
		p.CreationTimestamp = metav1.NewTime(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).Add(-age))
		if edit != nil {
			edit(p)
		}
		return p
	}
	debugged := func(p *corev1.Pod) {
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "registry.example/tools/busybox:1"}}}
	}
	injected := func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "proxy", Image: "registry.example/mesh/proxy:1"})
	}
	listed, err := ListCluster(t.Context(), fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "dep-web"},
			Spec: appsv1.DeploymentSpec{Template: podTemplate(image)}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", UID: "rs-web", OwnerReferences: controllerRef("apps/v1", "Deployment", "web", "dep-web")},
			Spec: appsv1.ReplicaSetSpec{Template: podTemplate(image)}},
		pod("web-1-a", 3*time.Hour, nil),
		pod("web-1-b", 3*time.Hour, debugged),
		pod("web-1-c", 2*time.Hour, injected),
		pod("web-1-d", time.Hour, injected),
	), ListOptions{})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	var got []string
	for _, o := range listed {
		got = append(got, fmt.Sprintf("%s/%s/%s: %d pods, %d containers", o.Workload.Namespace, o.Workload.Kind, o.Workload.Name, o.Pods, len(o.Workload.Containers)))
	}
	slices.Sort(got)
	want := []string{
		"shop/Deployment/web: 1 pods, 1 containers",
		"shop/Pod/web-1-b: 1 pods, 2 containers", // the debug container is checked too
		"shop/Pod/web-1-d: 2 pods, 2 containers", // the newer of the two with the sidecar
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListCluster() = %q, want %q", got, want)
	}
}
