package inventory

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
)

// These tests play a tenant against strata audit and graph: a pod that runs
// must be evaluated as what it runs, in its own namespace, whatever its
// owner's template says.

func podTemplate(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}},
	}
}

func controllerRef(apiVersion, kind, name, uid string) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(uid), Controller: &yes}}
}

func runningPod(ns, name, uid, image string, owners []metav1.OwnerReference) *corev1.Pod {
	t := podTemplate(image)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid), Labels: t.Labels, OwnerReferences: owners},
		Spec:       t.Spec,
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

// listAndBuild lists the fake cluster of objs and evaluates what it found
// in enforce mode.
func listAndBuild(t *testing.T, objs ...runtime.Object) *Inventory {
	t.Helper()
	return listAndBuildWith(t, pipelinetest.Demo(t), objs...)
}

// listAndBuildWith is listAndBuild with the pipeline p.
func listAndBuildWith(t *testing.T, p *webhook.Pipeline, objs ...runtime.Object) *Inventory {
	t.Helper()
	listed, err := ListCluster(t.Context(), fake.NewClientset(objs...), ListOptions{})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	inv, err := Build(t.Context(), listed, Options{Checker: p.Checker, Mode: policy.Enforce})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	return inv
}

// pushRoot pushes the demo's image that runs as root to repoTag of p's
// demo registry, as a tenant pushes to its own repository, and returns its
// digest.
func pushRoot(t *testing.T, p *webhook.Pipeline, repoTag string) string {
	t.Helper()
	src, err := name.ParseReference(p.Demo.Addr+"/shop/admin:1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	d, err := demo.Push(t.Context(), p.Demo.Addr+"/"+repoTag, img, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A pod of a Deployment whose image is the template's tag with a digest
// added (what strata's pin writes, and what kubectl set image pod/... can
// write by hand) runs that digest, not whatever the tag resolves to when
// the audit runs: the tag may have moved since (a rebuilt image on a
// patched base; an attacker's root image pushed, pinned, then the tag put
// back), or the digest was never the tag's. Counted under its Deployment,
// it was evaluated as the template's tag and a root image ran reported as
// compliant.
func TestListClusterEvaluatesTheDigestAPinnedPodRuns(t *testing.T) {
	t.Parallel()
	p := pipelinetest.Demo(t)
	web := demo.Host + "/shop/web:1.0"
	pinned := web + "@" + pushRoot(t, p, "shop/web:root")
	inv := listAndBuildWith(t, p,
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "dep-web"},
			Spec: appsv1.DeploymentSpec{Template: podTemplate(web)}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", UID: "rs-web", OwnerReferences: controllerRef("apps/v1", "Deployment", "web", "dep-web")},
			Spec: appsv1.ReplicaSetSpec{Template: podTemplate(web)}},
		runningPod("shop", "web-1-a", "pod-a", pinned, controllerRef("apps/v1", "ReplicaSet", "web-1", "rs-web")),
	)
	var ran bool
	for _, w := range inv.Workloads {
		for _, c := range w.Containers {
			if c.Image == pinned {
				ran = true
				root := slices.ContainsFunc(w.Violations, func(v policy.Violation) bool { return v.Policy == "run-as-root" })
				if w.Allowed || !root || w.Pods != 1 {
					t.Errorf("%s %s/%s running %s: allowed %t, violations %v, pods %d; want denied for run-as-root, one pod", w.Kind, w.Namespace, w.Name, pinned, w.Allowed, w.Violations, w.Pods)
				}
			}
		}
	}
	if !ran {
		t.Errorf("ListCluster()+Build() = %+v; no workload evaluates the digest the pod runs (%s)", inv.Workloads, pinned)
	}
}

// The garbage collector takes a controller in another namespace for an
// absent one (owner references do not cross namespaces), so such a pod
// runs as long as another owner of its own namespace keeps it. Counted
// under the other namespace's object, it was judged there: under an exempt
// namespace's DaemonSet, a tenant's root pod was never evaluated.
func TestListClusterDoesNotCountAPodUnderAnotherNamespacesOwner(t *testing.T) {
	t.Parallel()
	admin := demo.Host + "/shop/admin:1.0"
	owners := append(controllerRef("apps/v1", "DaemonSet", "agent", "ds-agent"),
		metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "keep", UID: "cm-keep"})
	inv := listAndBuild(t,
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "agent", UID: "ds-agent"},
			Spec: appsv1.DaemonSetSpec{Template: podTemplate(admin)}},
		runningPod("team", "hidden", "pod-hidden", admin, owners),
	)
	for _, w := range inv.Workloads {
		if w.Namespace == "team" {
			if w.Allowed || w.Exempt || w.Pods != 1 {
				t.Errorf("team's workload %s/%s = allowed %t, exempt %t, pods %d; want denied, one pod", w.Kind, w.Name, w.Allowed, w.Exempt, w.Pods)
			}
			return
		}
	}
	t.Errorf("ListCluster()+Build() = %+v; the pod running in namespace team is in no workload of team", inv.Workloads)
}

// A workload's UID names its report (strata-<uid>), so two workloads of one
// namespace must never share one. A tenant's compliant pod naming its root
// pod as controller (an owner that exists, so the garbage collector keeps
// it) was a group named after that controller's UID, beside the root pod
// listed under the same UID: the two reports were one, and whichever was
// written last said what the other runs.
func TestListClusterNeverGivesTwoWorkloadsOneUID(t *testing.T) {
	t.Parallel()
	admin, web := demo.Host+"/shop/admin:1.0", demo.Host+"/shop/web:1.0"
	listed, err := ListCluster(t.Context(), fake.NewClientset(
		runningPod("team", "root", "pod-root", admin, nil),
		runningPod("team", "decoy", "pod-decoy", web, controllerRef("v1", "Pod", "root", "pod-root")),
	), ListOptions{})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	seen := map[string]string{}
	for _, o := range listed {
		key := o.Workload.Namespace + "/" + o.UID
		what := o.Workload.Kind + "/" + o.Workload.Name + " running " + o.Workload.Containers[0].Image
		if other, dup := seen[key]; dup {
			t.Errorf("ListCluster(): %s and %s share the UID %s", other, what, key)
		}
		seen[key] = what
	}
	if len(listed) != 2 {
		t.Errorf("ListCluster() = %d workloads (%v), want 2: each pod runs other containers", len(listed), seen)
	}
}

// Pods are listed last, so a pod named as the controller of a ReplicaSet
// was not known when the ReplicaSet's pods were counted under it, and
// known when the ReplicaSet was dropped as "owned by an object listed
// after it": a tenant's ReplicaSet of root pods, controlled by a compliant
// bare pod, vanished with its pods. No controller makes a pod the owner of
// a workload; a pod is taken for none.
func TestListClusterDoesNotHideAWorkloadUnderAPod(t *testing.T) {
	t.Parallel()
	admin, web := demo.Host+"/shop/admin:1.0", demo.Host+"/shop/web:1.0"
	inv := listAndBuild(t,
		runningPod("team", "decoy", "pod-decoy", web, nil),
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "rs", UID: "rs-root", OwnerReferences: controllerRef("v1", "Pod", "decoy", "pod-decoy")},
			Spec: appsv1.ReplicaSetSpec{Template: podTemplate(admin)}},
		runningPod("team", "rs-a", "pod-a", admin, controllerRef("apps/v1", "ReplicaSet", "rs", "rs-root")),
	)
	for _, w := range inv.Workloads {
		if len(w.Containers) == 1 && w.Containers[0].Image == admin {
			if w.Allowed || w.Pods != 1 {
				t.Errorf("%s %s/%s running %s: allowed %t, pods %d; want denied, one pod", w.Kind, w.Namespace, w.Name, admin, w.Allowed, w.Pods)
			}
			return
		}
	}
	t.Errorf("ListCluster()+Build() = %+v; no workload runs %s, which a pod runs", inv.Workloads, admin)
}

// Controllers that loop (a Deployment controlled by its own ReplicaSet),
// which the garbage collector lets exist: the loop's pods must count under
// an object that is listed, however many objects the cluster holds (the
// walk up the loop ended after as many steps as objects listed, so a
// tenant chose by their number which member the pods counted under, and
// both members were dropped as owned).
func TestListClusterCountsALoopOfControllersPodsUnderAListedWorkload(t *testing.T) {
	t.Parallel()
	admin := demo.Host + "/shop/admin:1.0"
	for extra := range 2 {
		objs := []runtime.Object{
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "d", UID: "uid-d", OwnerReferences: controllerRef("apps/v1", "ReplicaSet", "r", "uid-r")},
				Spec: appsv1.DeploymentSpec{Template: podTemplate(admin)}},
			&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "r", UID: "uid-r", OwnerReferences: controllerRef("apps/v1", "Deployment", "d", "uid-d")},
				Spec: appsv1.ReplicaSetSpec{Template: podTemplate(admin)}},
			runningPod("team", "r-a", "pod-a", admin, controllerRef("apps/v1", "ReplicaSet", "r", "uid-r")),
		}
		for i := range extra {
			objs = append(objs, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "x" + string(rune('0'+i)), UID: types.UID("uid-x" + string(rune('0'+i)))},
				Spec: appsv1.DeploymentSpec{Template: podTemplate(admin)}})
		}
		listed, err := ListCluster(t.Context(), fake.NewClientset(objs...), ListOptions{})
		if err != nil {
			t.Fatalf("ListCluster() = %v", err)
		}
		pods := 0
		for _, o := range listed {
			pods += o.Pods
		}
		if pods != 1 {
			t.Errorf("ListCluster(%d other objects) = %d workloads with %d pods, want the loop's one pod counted", extra, len(listed), pods)
		}
	}
}

// digestOf resolves a demo image and returns its digest.
func digestOf(t *testing.T, repoTag string) string {
	t.Helper()
	inv, err := Build(t.Context(), []Object{deployment("shop", "x", repoTag)}, Options{Checker: pipelinetest.Demo(t).Checker, Mode: policy.Enforce})
	if err != nil || inv.Workloads[0].Containers[0].Digest.IsZero() {
		t.Fatalf("resolving %s: %v, %+v", repoTag, err, inv)
	}
	return inv.Workloads[0].Containers[0].Digest.String()
}

// A container keeps running the digest its tag named when the kubelet
// pulled it: after the tag moves (base/debian:12 re-pointed to its patched
// build; an attacker's root image pushed, run, then the tag put back) the
// pod still runs the old digest, which its status says (imageID). Judged by
// where the tag points now, the pods still on the unpatched base were
// reported current, and out of the rebuild list a patched base's rollout
// is driven by.
func TestListClusterEvaluatesTheDigestAContainerRuns(t *testing.T) {
	t.Parallel()
	debian := demo.Host + "/base/debian:12"
	old := digestOf(t, "base/debian:12.7")
	if old == digestOf(t, "base/debian:12") {
		t.Fatal("the demo's base/debian:12 no longer moved from the digest base/debian:12.7 names")
	}
	pod := runningPod("shop", "os-1-a", "pod-a", debian, controllerRef("apps/v1", "ReplicaSet", "os-1", "rs-os"))
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", Image: debian, ImageID: demo.Host + "/base/debian@" + old}}
	inv := listAndBuild(t,
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "os", UID: "dep-os"},
			Spec: appsv1.DeploymentSpec{Template: podTemplate(debian)}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "os-1", UID: "rs-os", OwnerReferences: controllerRef("apps/v1", "Deployment", "os", "dep-os")},
			Spec: appsv1.ReplicaSetSpec{Template: podTemplate(debian)}},
		pod,
	)
	var got []string
	for _, w := range inv.Workloads {
		for _, c := range w.Containers {
			if c.Digest.String() == old && w.Pods == 1 {
				return
			}
			got = append(got, fmt.Sprintf("%s/%s pods %d: %s %s", w.Kind, w.Name, w.Pods, c.Image, c.Digest))
		}
	}
	t.Errorf("ListCluster()+Build() = %q; want the pod's container evaluated at the digest it runs, %s", got, old)
}

// An exempt image is allowed without being resolved, and strata's pin
// leaves it as written; read at the digest its status names, its canonical
// form (name@digest) no longer matched the exemption, and the audit judged
// what the configuration exempts.
func TestListClusterLeavesAnExemptImageAsWritten(t *testing.T) {
	t.Parallel()
	debian := demo.Host + "/base/debian:12"
	pod := runningPod("shop", "os", "pod-os", debian, nil)
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", Image: debian, ImageID: demo.Host + "/base/debian@" + digestOf(t, "base/debian:12.7")}}
	exempt := func(image string) bool { return image == debian }
	listed, err := ListCluster(t.Context(), fake.NewClientset(pod), ListOptions{ImageExempt: exempt})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	if len(listed) != 1 || listed[0].Workload.Containers[0].Image != debian {
		t.Errorf("ListCluster() = %+v, want the pod's exempt image as written, %s", listed, debian)
	}
}

// The pods of a controller strata does not list are named after their
// ownerReference, which the API server takes as written: a name of 100 KB
// went into the workload's report twice (its scope and its owner), past
// what an object may hold, so the write failed on every run and the
// tenant's pods had no report. Such a controller's pods are named after
// the newest of them, whose name the API server checked.
func TestListClusterNamesWorkloadsByNamesTheAPIServerChecked(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100<<10)
	listed, err := ListCluster(t.Context(), fake.NewClientset(
		runningPod("team", "root", "pod-root", demo.Host+"/shop/admin:1.0", controllerRef("example.com/v1", "Widget", long, "widget-uid")),
	), ListOptions{})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	for _, o := range listed {
		if errs := validation.IsDNS1123Subdomain(o.Workload.Name); len(errs) > 0 {
			t.Errorf("ListCluster() = %s named in %d bytes: %v", o.Workload.Kind, len(o.Workload.Name), errs)
		}
	}
}
