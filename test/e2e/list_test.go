//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/workload"
)

// The namespaces ListCluster's tests fill; no webhook selects them.
var listNamespaces = []string{"e2e-list-a", "e2e-list-b", "e2e-list-c"}

// listed is one expected workload: its kind, name and running pods.
type listed struct {
	kind, name, apiVersion string
	pods                   int
}

// listFixture is what createListFixture made in each namespace.
type listFixture struct {
	want    map[string][]listed // by namespace
	uids    map[string]string   // namespace/kind/name → UID
	objects int                 // objects of the listed kinds in one namespace
}

var (
	listOnce   sync.Once
	listFix    *listFixture
	listFixErr error
)

// widgetUID is the UID of a custom controller strata does not list, which
// owns pods in namespace ns.
func widgetUID(ns string) types.UID { return types.UID("0f0e0d0c-" + ns) }

// createListFixture creates, in each of three namespaces, a workload of
// every kind with its pods, as the controllers would have: a Deployment
// with its ReplicaSet and 3 pods, a StatefulSet with 2, a DaemonSet, a
// CronJob with its Job, a running and a finished pod, a Job, a
// ReplicationController, a ReplicaSet of its own, a bare pod, and 2 pods of
// a custom controller (a Widget) made from two templates, and two mirror
// pods of the same Node.
func createListFixture(t *testing.T) *listFixture {
	t.Helper()
	listOnce.Do(func() { listFix, listFixErr = buildListFixture(t) })
	if listFixErr != nil {
		t.Fatalf("creating the workloads to list: %v", listFixErr)
	}
	return listFix
}

func buildListFixture(t *testing.T) (*listFixture, error) {
	ctx := t.Context()
	c := s.client
	f := &listFixture{want: map[string][]listed{}, uids: map[string]string{}}
	img := "registry.invalid/list/app:1"
	for _, ns := range listNamespaces {
		if err := cluster.CreateNamespace(ctx, c, ns); err != nil {
			return nil, err
		}
		objects := 0
		for _, w := range []struct {
			cluster.Workload
			apiVersion string
		}{
			{cluster.Workload{Kind: "Deployment", Name: "web", Labels: map[string]string{"tier": "front"}, Pods: 3}, "apps/v1"},
			{cluster.Workload{Kind: "StatefulSet", Name: "db", Labels: map[string]string{"tier": "back"}, Pods: 2}, "apps/v1"},
			{cluster.Workload{Kind: "DaemonSet", Name: "agent", Pods: 1}, "apps/v1"},
			{cluster.Workload{Kind: "CronJob", Name: "nightly", Pods: 1}, "batch/v1"},
			{cluster.Workload{Kind: "Job", Name: "migrate", Pods: 1}, "batch/v1"},
			{cluster.Workload{Kind: "ReplicationController", Name: "legacy", Pods: 1}, "v1"},
			{cluster.Workload{Kind: "ReplicaSet", Name: "solo", Pods: 1}, "apps/v1"},
			{cluster.Workload{Kind: "Pod", Name: "debug", Labels: map[string]string{"tier": "debug"}}, "v1"},
		} {
			w.Namespace, w.Images = ns, []string{img}
			made, err := cluster.CreateWorkload(ctx, c, w.Workload)
			if err != nil {
				return nil, err
			}
			pods := w.Pods
			if w.Kind == "Pod" {
				pods = 1
			}
			f.want[ns] = append(f.want[ns], listed{kind: w.Kind, name: w.Name, apiVersion: w.apiVersion, pods: pods})
			f.uids[ns+"/"+w.Kind+"/"+w.Name] = made.UID
			objects += made.Objects
		}
		// A finished pod of the CronJob's Job: listed, not counted.
		job, err := c.BatchV1().Jobs(ns).Get(ctx, "nightly-29000000", metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		yes := true
		jobRef := metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: &yes}
		if err := cluster.CreateOwnedPods(ctx, c, cluster.Workload{Namespace: ns, Name: "nightly-done", Images: []string{img}, Pods: 1}, jobRef); err != nil {
			return nil, err
		}
		done, err := c.CoreV1().Pods(ns).Get(ctx, "nightly-done-0", metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		done.Status.Phase = corev1.PodSucceeded
		if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, done, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("finishing pod %s/%s: %w", ns, done.Name, err)
		}
		// A custom controller's pods, from an old and a new template.
		widget := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w1", UID: widgetUID(ns), Controller: &yes}
		for i, name := range []string{"w1-old", "w1-new"} {
			if i > 0 {
				// creationTimestamp has seconds: the new pod must be
				// created in a later second to be the newer.
				time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
			}
			w := cluster.Workload{Namespace: ns, Name: name, Images: []string{"registry.invalid/list/" + name + ":1"}, Pods: 1}
			if err := cluster.CreateOwnedPods(ctx, c, w, widget); err != nil {
				return nil, err
			}
		}
		// Its pods run two templates: the newest pod's is the Widget, the
		// older one's is evaluated too, as a workload of its own.
		f.want[ns] = append(f.want[ns], listed{kind: "Widget", name: "w1", apiVersion: "example.com/v1", pods: 1})
		f.uids[ns+"/Widget/w1"] = string(widgetUID(ns))
		old, err := c.CoreV1().Pods(ns).Get(ctx, "w1-old-0", metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		f.want[ns] = append(f.want[ns], listed{kind: "Pod", name: old.Name, apiVersion: "v1", pods: 1})
		f.uids[ns+"/Pod/"+old.Name] = string(old.UID)
		// Mirror pods of two static pods: the kubelet makes their Node
		// their controller, and each is a workload of its own.
		node := metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: "node-1", UID: "0a0b0c0d-node-1", Controller: &yes}
		for _, name := range []string{"static-a", "static-b"} {
			w := cluster.Workload{Namespace: ns, Name: name, Images: []string{img}, Pods: 1}
			if err := cluster.CreateOwnedPods(ctx, c, w, node); err != nil {
				return nil, err
			}
			p, err := c.CoreV1().Pods(ns).Get(ctx, name+"-0", metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			f.want[ns] = append(f.want[ns], listed{kind: "Pod", name: p.Name, apiVersion: "v1", pods: 1})
			f.uids[ns+"/Pod/"+p.Name] = string(p.UID)
		}
		f.objects = objects + 5
	}
	return f, nil
}

// checkListed fails unless objs hold, for each namespace in nss, exactly
// the fixture's workloads, each once, with its UID and pod count.
func checkListed(t *testing.T, f *listFixture, objs []inventory.Object, nss ...string) {
	t.Helper()
	got := map[string]inventory.Object{}
	for _, o := range objs {
		if !strings.HasPrefix(o.Workload.Namespace, "e2e-list-") {
			continue
		}
		key := o.Workload.Namespace + "/" + o.Workload.Kind + "/" + o.Workload.Name
		if _, dup := got[key]; dup {
			t.Errorf("ListCluster() lists %s twice", key)
		}
		got[key] = o
	}
	want := 0
	for _, ns := range nss {
		for _, w := range f.want[ns] {
			want++
			key := ns + "/" + w.kind + "/" + w.name
			o, ok := got[key]
			if !ok {
				t.Errorf("ListCluster() lacks %s", key)
				continue
			}
			if o.Pods != w.pods || o.APIVersion != w.apiVersion || o.UID != f.uids[key] {
				t.Errorf("ListCluster() %s = pods %d, apiVersion %q, uid %q; want %d, %q, %q", key, o.Pods, o.APIVersion, o.UID, w.pods, w.apiVersion, f.uids[key])
			}
		}
	}
	if len(got) != want {
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		t.Errorf("ListCluster() lists %d workloads in the test namespaces, want %d: %v", len(got), want, keys)
	}
}

// listRequests wraps a real client's transport: it counts the list calls
// and, when expire says so, answers a continued list with the 410 Gone an
// API server gives for a continue token older than etcd's compaction, the
// one fault it will not produce on demand.
type listRequests struct {
	mu         sync.Mutex
	next       http.RoundTripper
	expire     func(r *http.Request, continues int) bool
	firstPages map[string]int // by path
	continues  int
	expired    int
}

func (l *listRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	l.mu.Lock()
	switch {
	case q.Get("continue") != "":
		l.continues++
		if l.expire != nil && l.expire(r, l.continues) {
			l.expired++
			l.mu.Unlock()
			body := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.","reason":"Expired","code":410}`
			return &http.Response{
				StatusCode: http.StatusGone, Status: "410 Gone", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
				ContentLength: int64(len(body)), Request: r,
			}, nil
		}
	case q.Get("limit") != "":
		l.firstPages[r.URL.Path]++
	}
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

// listClient is an admin client of the suite's API server whose requests go
// through a listRequests.
func listClient(t *testing.T, expire func(r *http.Request, continues int) bool) (kubernetes.Interface, *listRequests) {
	t.Helper()
	l := &listRequests{expire: expire, firstPages: map[string]int{}}
	cfg := rest.CopyConfig(s.apiserver.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { l.next = rt; return l })
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, l
}

// Every kind in three namespaces, each workload once under its top-level
// owner: the Deployment's ReplicaSet and 3 pods are one workload, the
// CronJob's Job and running pod another (the finished pod not counted), the
// custom controller's 2 pods one Widget.
func TestListClusterCountsEachWorkloadOnceUnderItsTopLevelOwner(t *testing.T) {
	f := createListFixture(t)
	var last int
	objs, err := inventory.ListCluster(t.Context(), s.client, inventory.ListOptions{Listed: func(n int) { last = n }})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	checkListed(t, f, objs, listNamespaces...)
	if min := f.objects * len(listNamespaces); last < min {
		t.Errorf("Listed was last told %d objects, want at least the %d the test created", last, min)
	}
}

// The Workload ListCluster gives is what the webhook decodes from the JSON
// the API server sends, for every kind; for the custom controller's pods,
// its newest pod's, named after the controller.
func TestListClusterWorkloadIsWhatTheWebhookDecodes(t *testing.T) {
	createListFixture(t)
	ns := listNamespaces[0]
	objs, err := inventory.ListCluster(t.Context(), s.client, inventory.ListOptions{Namespace: ns})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	paths := map[string]string{
		"Deployment": "/apis/apps/v1/namespaces/%s/deployments/%s", "StatefulSet": "/apis/apps/v1/namespaces/%s/statefulsets/%s",
		"DaemonSet": "/apis/apps/v1/namespaces/%s/daemonsets/%s", "ReplicaSet": "/apis/apps/v1/namespaces/%s/replicasets/%s",
		"CronJob": "/apis/batch/v1/namespaces/%s/cronjobs/%s", "Job": "/apis/batch/v1/namespaces/%s/jobs/%s",
		"ReplicationController": "/api/v1/namespaces/%s/replicationcontrollers/%s", "Pod": "/api/v1/namespaces/%s/pods/%s",
	}
	for _, o := range objs {
		kind, name := o.Workload.Kind, o.Workload.Name
		if kind == "Widget" {
			kind, name = "Pod", "w1-new-0"
		}
		raw, err := s.client.CoreV1().RESTClient().Get().AbsPath(fmt.Sprintf(paths[kind], ns, name)).DoRaw(t.Context())
		if err != nil {
			t.Fatalf("reading %s %s/%s: %v", kind, ns, name, err)
		}
		gv, _ := schema.ParseGroupVersion(o.APIVersion)
		if kind == "Pod" {
			gv = schema.GroupVersion{Version: "v1"}
		}
		want, err := workload.Decode(schema.GroupKind{Group: gv.Group, Kind: kind}, raw)
		if err != nil {
			t.Fatalf("workload.Decode(%s %s) = %v", kind, name, err)
		}
		want.Kind, want.Name = o.Workload.Kind, o.Workload.Name
		if !reflect.DeepEqual(o.Workload, want) {
			t.Errorf("ListCluster() %s/%s workload = %+v, want what the webhook decodes: %+v", o.Workload.Kind, o.Workload.Name, o.Workload, want)
		}
	}
	// Every kind once, the Widget, its older template's pod and the two
	// mirror pods.
	if want := len(paths) + 4; len(objs) != want {
		t.Errorf("ListCluster(-n %s) = %d workloads, want %d", ns, len(objs), want)
	}
}

// Pages of 2 go through continue tokens and give the same answer.
func TestListClusterPagesThroughContinueTokens(t *testing.T) {
	f := createListFixture(t)
	c, reqs := listClient(t, nil)
	ns := listNamespaces[1]
	var last int
	objs, err := inventory.ListCluster(t.Context(), c, inventory.ListOptions{Namespace: ns, ChunkSize: 2, Listed: func(n int) { last = n }})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	checkListed(t, f, objs, ns)
	if reqs.continues < f.objects/2-len(reqs.firstPages) {
		t.Errorf("ListCluster(ChunkSize 2) made %d continued list calls for %d objects, want at least %d", reqs.continues, f.objects, f.objects/2-len(reqs.firstPages))
	}
	if last != f.objects {
		t.Errorf("Listed was last told %d objects, want the %d in %s", last, f.objects, ns)
	}
}

// A continue token that expired (410 Gone) mid-list restarts that list
// from its first page, and nothing it had read is counted twice.
func TestListClusterExpiredContinueTokenRestartsTheListWithoutDuplicates(t *testing.T) {
	f := createListFixture(t)
	podsExpired := false
	c, reqs := listClient(t, func(r *http.Request, _ int) bool {
		// The second page of pods, after the first was counted.
		if strings.HasSuffix(r.URL.Path, "/pods") && !podsExpired {
			podsExpired = true
			return true
		}
		return false
	})
	ns := listNamespaces[2]
	objs, err := inventory.ListCluster(t.Context(), c, inventory.ListOptions{Namespace: ns, ChunkSize: 3})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	checkListed(t, f, objs, ns)
	podsPath := "/api/v1/namespaces/" + ns + "/pods"
	if reqs.expired != 1 || reqs.firstPages[podsPath] != 2 {
		t.Errorf("pods lists started %d times after %d expired tokens, want 2 after 1", reqs.firstPages[podsPath], reqs.expired)
	}
}

// A list whose token keeps expiring ends with an error that says so, after
// a bounded number of restarts, not in an endless loop.
func TestListClusterContinueTokenThatAlwaysExpiresIsAnError(t *testing.T) {
	createListFixture(t)
	c, reqs := listClient(t, func(*http.Request, int) bool { return true })
	_, err := inventory.ListCluster(t.Context(), c, inventory.ListOptions{Namespace: listNamespaces[0], ChunkSize: 1})
	if err == nil || !strings.Contains(err.Error(), "continue token expired") || !strings.Contains(err.Error(), listNamespaces[0]) {
		t.Fatalf("ListCluster() = %v, want an error naming the namespace and the expired continue token", err)
	}
	if reqs.expired != 4 {
		t.Errorf("ListCluster() met %d expired tokens, want 4 (the first list and 3 restarts)", reqs.expired)
	}
}

// -n reads one namespace; -l selects workloads by their own labels: the
// Deployments labelled tier=front are selected with all their pods, which
// are not labelled so; a bad selector is an error.
func TestListClusterNamespaceAndSelector(t *testing.T) {
	f := createListFixture(t)
	objs, err := inventory.ListCluster(t.Context(), s.client, inventory.ListOptions{Namespace: listNamespaces[1]})
	if err != nil {
		t.Fatalf("ListCluster(-n) = %v", err)
	}
	for _, o := range objs {
		if o.Workload.Namespace != listNamespaces[1] {
			t.Errorf("ListCluster(-n %s) lists %s/%s in %s", listNamespaces[1], o.Workload.Kind, o.Workload.Name, o.Workload.Namespace)
		}
	}
	checkListed(t, f, objs, listNamespaces[1])

	objs, err = inventory.ListCluster(t.Context(), s.client, inventory.ListOptions{Selector: "tier=front"})
	if err != nil {
		t.Fatalf("ListCluster(-l tier=front) = %v", err)
	}
	if len(objs) != len(listNamespaces) {
		t.Errorf("ListCluster(-l tier=front) = %d workloads, want the %d Deployments", len(objs), len(listNamespaces))
	}
	for _, o := range objs {
		if o.Workload.Kind != "Deployment" || o.Workload.Name != "web" || o.Pods != 3 {
			t.Errorf("ListCluster(-l tier=front) lists %s %s/%s with %d pods, want only the Deployments web with 3", o.Workload.Kind, o.Workload.Namespace, o.Workload.Name, o.Pods)
		}
	}

	if _, err := inventory.ListCluster(t.Context(), s.client, inventory.ListOptions{Selector: "tier in (front"}); err == nil || !strings.Contains(err.Error(), "tier in (front") {
		t.Errorf("ListCluster(-l %q) = %v, want an error naming the selector", "tier in (front", err)
	}
}

// An identity that may not list a kind gets an error naming the resource,
// the scope and the permission to grant, not a partial list.
func TestListClusterWithoutPermissionNamesWhatToGrant(t *testing.T) {
	createListFixture(t)
	user, err := s.apiserver.Env.AddUser(envtest.User{Name: "list-nobody"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(user.Config())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := inventory.ListCluster(t.Context(), c, inventory.ListOptions{Namespace: listNamespaces[0]})
	if err == nil || !strings.Contains(err.Error(), "grant list on cronjobs.batch") || !strings.Contains(err.Error(), listNamespaces[0]) {
		t.Fatalf("ListCluster(no permissions) = %d objects, %v; want an error naming cronjobs.batch, the namespace and what to grant", len(objs), err)
	}
}

// What runs is the pod, not its owner's template: a pod whose image was set
// on the pod itself (kubectl set image pod/...), as a StatefulSet or
// DaemonSet with OnDelete keeps its pods on an old template, is evaluated as
// a workload of its own, and no longer counted under its owner; so is a pod
// whose image is the template's tag with a digest added (tag@digest, as
// strata's pin writes it) while another pod runs the template as written:
// it runs that digest, which the tag need not name.
func TestListClusterEvaluatesPodsThatDriftedFromTheirOwner(t *testing.T) {
	ctx := t.Context()
	ns := "list-drift"
	if err := cluster.CreateNamespace(ctx, s.client, ns); err != nil {
		t.Fatal(err)
	}
	good := "registry.invalid/list/good:1"
	if _, err := cluster.CreateWorkload(ctx, s.client, cluster.Workload{Kind: "Deployment", Namespace: ns, Name: "web", Images: []string{good}, Pods: 3}); err != nil {
		t.Fatal(err)
	}
	pods, err := s.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 3 {
		t.Fatalf("the Deployment's pods: %v, %v", pods, err)
	}
	drifted, pinned := pods.Items[0], pods.Items[1]
	drifted.Spec.Containers[0].Image = "registry.invalid/list/evil:1"
	pinned.Spec.Containers[0].Image = good + "@sha256:" + strings.Repeat("ab", 32)
	for _, p := range []*corev1.Pod{&drifted, &pinned} {
		if _, err := s.client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("setting the image of pod %s: %v", p.Name, err)
		}
	}
	objs, err := inventory.ListCluster(ctx, s.client, inventory.ListOptions{Namespace: ns})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, fmt.Sprintf("%s/%s pods %d: %s", o.Workload.Kind, o.Workload.Name, o.Pods, o.Workload.Containers[0].Image))
	}
	pods1 := []string{
		"Pod/" + drifted.Name + " pods 1: registry.invalid/list/evil:1",
		"Pod/" + pinned.Name + " pods 1: " + pinned.Spec.Containers[0].Image,
	}
	slices.Sort(pods1)
	want := append([]string{"Deployment/web pods 1: " + good}, pods1...)
	if !slices.Equal(got, want) {
		t.Errorf("ListCluster() = %q, want %q", got, want)
	}
}

// What the API server accepts of owner references, a tenant may write: a
// ReplicaSet whose controller is a bare pod, and a pod whose controller is
// another namespace's object, named by its UID. Neither may hide a pod: the
// ReplicaSet's pod was counted under the compliant bare pod, and the
// other namespace's pod under that namespace's ReplicaSet.
func TestListClusterCountsNoPodUnderAPodOrAnotherNamespace(t *testing.T) {
	ctx := t.Context()
	ns, other := "list-owners", "list-owners-far"
	for _, n := range []string{ns, other} {
		if err := cluster.CreateNamespace(ctx, s.client, n); err != nil {
			t.Fatal(err)
		}
	}
	good, evil := "registry.invalid/list/good:1", "registry.invalid/list/evil:1"
	spec := func(image string) corev1.PodSpec {
		return corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}}
	}
	controlledBy := func(apiVersion, kind, name string, uid types.UID) []metav1.OwnerReference {
		yes := true
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: &yes}}
	}
	decoy, err := s.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "decoy"}, Spec: spec(good)}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "hidden"}
	rs, err := s.client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "hidden", OwnerReferences: controlledBy("v1", "Pod", decoy.Name, decoy.UID)},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec(evil)}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hidden-a", Labels: labels, OwnerReferences: controlledBy("apps/v1", "ReplicaSet", rs.Name, rs.UID)}, Spec: spec(evil)},
		{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "far", Labels: labels, OwnerReferences: controlledBy("apps/v1", "ReplicaSet", rs.Name, rs.UID)}, Spec: spec(evil)},
	} {
		if _, err := s.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
	objs, err := inventory.ListCluster(ctx, s.client, inventory.ListOptions{})
	if err != nil {
		t.Fatalf("ListCluster() = %v", err)
	}
	var got []string
	for _, o := range objs {
		if o.Workload.Namespace == ns || o.Workload.Namespace == other {
			got = append(got, fmt.Sprintf("%s/%s/%s pods %d: %s", o.Workload.Namespace, o.Workload.Kind, o.Workload.Name, o.Pods, o.Workload.Containers[0].Image))
		}
	}
	want := []string{
		ns + "/Pod/decoy pods 1: " + good,
		ns + "/ReplicaSet/hidden pods 1: " + evil,
		other + "/ReplicaSet/hidden pods 1: " + evil, // an unlisted controller, in its pod's namespace
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListCluster() = %q, want %q", got, want)
	}
}
