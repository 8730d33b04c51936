package inventory

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/workload"
)

// ListOptions say which of a cluster's workloads ListCluster reads.
type ListOptions struct {
	// Namespace is the namespace to read; "" reads every namespace.
	Namespace string
	// Selector is a label selector (kubectl's -l) on the workloads.
	Selector string
	// ChunkSize is the page size of each list call. Default: 500.
	ChunkSize int64
	// Listed, when set, is told how many objects have been listed so far.
	Listed func(n int)
	// ImageExempt, when set, says which images the Checker exempts
	// (Checker.ImageExempt): such an image keeps its tag, whatever digest
	// its container runs, as strata's pin leaves it, so that the exemption
	// still covers it.
	ImageExempt func(image string) bool
}

// DefaultChunkSize is the page size of a list call, kubectl's.
const DefaultChunkSize = 500

// maxListRestarts bounds how often one list starts again after its continue
// token expired: a cluster that changes faster than it can be read gets an
// error, not an endless loop.
const maxListRestarts = 3

// ListCluster lists a cluster's pod-bearing workloads, each running pod
// counted under its top-level owner, each owner once.
//
// Every Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
// ReplicationController and Pod is listed, in pages of ChunkSize; a list
// whose continue token expired (410 Gone) starts again from its first page
// and what its earlier pages gave is dropped, so nothing is counted twice.
//
// Ownership follows the controller ownerReference (controller: true) up
// through the listed objects: a Deployment's ReplicaSets and their pods are
// one workload, the Deployment, as a CronJob's Jobs and pods are the CronJob.
// Owner references do not cross namespaces (the garbage collector takes one
// that does for an absent owner): a controller is looked for in its object's
// namespace only, so that a pod cannot be counted, and judged, under another
// namespace's object (an exempt namespace's DaemonSet, say); a pod is no
// workload's controller, and a loop of controllers has one top, so that
// every object counted under a top is listed with it.
// An object whose controller is not listed (there is none, or it is a kind
// strata does not list, or it is gone) is a workload itself, except a pod:
// the pods of one unlisted controller (a custom resource's, say) are named
// after that controller (its ownerReference's apiVersion, kind, name and
// UID; after their newest pod when the reference's kind and name are not
// Kubernetes names, which the API server does not check) and decoded from
// its newest pod, so that a custom controller's
// replicas are evaluated once. A mirror pod, whose controller is its Node,
// is a workload itself.
//
// What runs is judged, not only what a template says: every running pod is
// decoded, and one that does not run its top-level owner's containers (an
// image set on the pod, an OnDelete StatefulSet's old pods, an ephemeral
// debug container, an injected sidecar) is not counted under the owner but
// evaluated with the pods of the same owner and containers, as a workload
// named after the newest of them; so are an unlisted controller's pods that
// run other containers than its newest. A pod whose image strata's pin
// rewrote to tag@digest (or anyone did, kubectl set image pod/...) runs that
// digest, whatever the tag points to now, and so does a container whose
// status (imageID, the kubelet's) names a digest of its image's repository:
// its image is read as tag@digest. When none of an owner's pods runs its
// template as written, the owner is evaluated on the pinned form its newest
// pods run, and counts those; pods pinned otherwise are evaluated as
// drifted, so that no digest that runs goes unjudged.
// The selector is matched against each workload's own labels (for a custom
// controller's pods, its newest pod's), not sent to the server: a
// Deployment selected by its labels still counts pods labelled otherwise.
// Pods count only while they have not terminated (phase Succeeded or
// Failed). Objects are returned sorted by namespace, kind and name.
func ListCluster(ctx context.Context, client kubernetes.Interface, opts ListOptions) ([]Object, error) {
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	sel, err := labels.Parse(opts.Selector)
	if err != nil {
		return nil, fmt.Errorf("label selector %q: %w", opts.Selector, err)
	}
	l := &clusterLister{client: client, opts: opts, found: map[types.UID]*found{}}
	// Owners are listed before what they own, so that an owned object is
	// known to be owned when its page is read and is never decoded.
	for _, k := range listedKinds {
		if err := l.listKind(ctx, k); err != nil {
			return nil, err
		}
	}
	return l.objects(sel), nil
}

// found is what ListCluster keeps of one listed object: its identity, its
// controller and, only when it may be a workload, its decoded Workload.
type found struct {
	kind       *kind
	uid        types.UID
	namespace  string
	name       string
	controller *metav1.OwnerReference
	workload   *workload.Workload
	pods       int
}

// ownerGroup is the running pods that share one controller and one set of
// containers (their images, types, OS and security contexts), when they are
// not what a listed owner's template says: the pods of a controller strata
// does not list, and pods that drifted from their listed owner (an image set
// on the pod, an OnDelete StatefulSet's old pods, a debug container, an
// injected sidecar). Each is evaluated once, so that what runs is judged,
// not only what the template says.
type ownerGroup struct {
	ref metav1.OwnerReference
	// drifted is set for pods of a listed owner: they are a workload named
	// after their newest pod, not after the owner, which is one already.
	drifted bool
	// pinned is set for drifted pods that run their owner's template with
	// a digest added to a tag: the owner may be evaluated on them.
	pinned   bool
	newest   *workload.Workload
	created  metav1.Time
	pods     int
	fromName string    // the pod the workload was decoded from, to break ties
	fromUID  types.UID // and its UID
}

// groupKey is an ownerGroup's: the controller, the pods' namespace (a UID
// in an owner reference is the pod's to write) and the containers.
type groupKey struct {
	owner      types.UID
	namespace  string
	containers string
}

type clusterLister struct {
	client kubernetes.Interface
	opts   ListOptions
	listed int
	found  map[types.UID]*found
	order  []*found // objects that may be workloads, in list order
	groups map[groupKey]*ownerGroup
}

// page is one list call's items, typed objects that json.Marshal writes as
// the API server does.
type page struct {
	items []metav1.Object
	next  string
}

// kind is one listed resource.
type kind struct {
	gk         schema.GroupKind
	apiVersion string
	list       func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error)
}

var listedKinds = []*kind{
	{gk: schema.GroupKind{Group: "batch", Kind: "CronJob"}, apiVersion: "batch/v1",
		list: listWith(func(c kubernetes.Interface, ns string) typedLister[*batchv1.CronJobList] {
			return c.BatchV1().CronJobs(ns)
		})},
	{gk: schema.GroupKind{Group: "apps", Kind: "Deployment"}, apiVersion: "apps/v1",
		list: listWith(func(c kubernetes.Interface, ns string) typedLister[*appsv1.DeploymentList] {
			return c.AppsV1().Deployments(ns)
		})},
	{gk: schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, apiVersion: "apps/v1",
		list: listWith(func(c kubernetes.Interface, ns string) typedLister[*appsv1.StatefulSetList] {
			return c.AppsV1().StatefulSets(ns)
		})},
	{gk: schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, apiVersion: "apps/v1",
		list: listWith(func(c kubernetes.Interface, ns string) typedLister[*appsv1.DaemonSetList] {
			return c.AppsV1().DaemonSets(ns)
		})},
	{gk: schema.GroupKind{Group: "", Kind: "ReplicationController"}, apiVersion: "v1",
		list: listWith(func(c kubernetes.Interface, ns string) typedLister[*corev1.ReplicationControllerList] {
			return c.CoreV1().ReplicationControllers(ns)
		})},
	{gk: schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, apiVersion: "apps/v1",
		list: listWith(func(c kubernetes.Interface, ns string) typedLister[*appsv1.ReplicaSetList] {
			return c.AppsV1().ReplicaSets(ns)
		})},
	{gk: schema.GroupKind{Group: "batch", Kind: "Job"}, apiVersion: "batch/v1",
		list: listWith(func(c kubernetes.Interface, ns string) typedLister[*batchv1.JobList] { return c.BatchV1().Jobs(ns) })},
	{gk: schema.GroupKind{Group: "", Kind: "Pod"}, apiVersion: "v1",
		list: listWith(func(c kubernetes.Interface, ns string) typedLister[*corev1.PodList] { return c.CoreV1().Pods(ns) })},
}

// typedLister is the List method every typed client-go resource client has;
// only the client that has it differs from one listed kind to the next.
type typedLister[L any] interface {
	List(ctx context.Context, o metav1.ListOptions) (L, error)
}

// listWith makes a kind's list call from the typed client of its resource.
// A page's items are the list's own (pointers into its Items, not copies),
// typed objects that json.Marshal writes as the API server does.
func listWith[L interface {
	runtime.Object
	metav1.ListInterface
}](client func(c kubernetes.Interface, ns string) typedLister[L]) func(context.Context, kubernetes.Interface, string, metav1.ListOptions) (page, error) {
	return func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error) {
		l, err := client(c, ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		objs, err := meta.ExtractList(l)
		if err != nil {
			return page{}, err
		}
		p := page{items: make([]metav1.Object, len(objs)), next: l.GetContinue()}
		for i, o := range objs {
			mo, ok := o.(metav1.Object)
			if !ok {
				return page{}, fmt.Errorf("a listed %T is no Kubernetes object with metadata", o)
			}
			p.items[i] = mo
		}
		return p, nil
	}
}

// listKind reads every page of one kind. The objects a page yields are kept
// aside until the last page, so that a restart drops them.
func (l *clusterLister) listKind(ctx context.Context, k *kind) error {
	for restarts := 0; ; restarts++ {
		var (
			kept   []*found
			groups = map[groupKey]*ownerGroup{}
			counts = map[types.UID]int{}
			n      int
			err    error
		)
		cont := ""
		for {
			var p page
			p, err = k.list(ctx, l.client, l.opts.Namespace, metav1.ListOptions{Limit: l.opts.ChunkSize, Continue: cont})
			if err != nil {
				break
			}
			for _, o := range p.items {
				f, err := l.read(k, o, groups, counts)
				if err != nil {
					return err
				}
				if f != nil {
					kept = append(kept, f)
				}
			}
			n += len(p.items)
			if l.opts.Listed != nil {
				l.opts.Listed(l.listed + n)
			}
			if cont = p.next; cont == "" {
				break
			}
		}
		if err == nil {
			l.commit(kept, groups, counts)
			l.listed += n
			return nil
		}
		if apierrors.IsForbidden(err) {
			return fmt.Errorf("listing %s%s: %w (grant list on %s to the identity strata runs as)",
				plural(k), inNamespace(l.opts.Namespace), err, plural(k))
		}
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			return fmt.Errorf("listing %s%s: %w", plural(k), inNamespace(l.opts.Namespace), err)
		}
		if restarts == maxListRestarts {
			return fmt.Errorf("listing %s%s: the list changed faster than it could be read (its continue token expired %d times): run again, or with a larger chunk size: %w",
				plural(k), inNamespace(l.opts.Namespace), restarts+1, err)
		}
	}
}

// read looks at one listed object. An object whose controller is known is
// only remembered for the objects it owns, and a running pod of it counted
// under it when it runs what the top owner's template says; any other is
// decoded, as a workload of its own or, for a pod, for its group.
func (l *clusterLister) read(k *kind, o metav1.Object, groups map[groupKey]*ownerGroup, counts map[types.UID]int) (*found, error) {
	f := &found{kind: k, uid: o.GetUID(), namespace: o.GetNamespace(), name: o.GetName(), controller: metav1.GetControllerOf(o)}
	isPod := k.gk == podKind
	if isPod && terminated(o) && f.controller != nil {
		// A finished pod neither runs nor counts; a bare one is still
		// listed, it is an object of the cluster.
		return nil, nil
	}
	if !isPod && l.owner(f.namespace, f.controller) != nil {
		return f, nil
	}
	w, err := decode(k, o, l.opts.ImageExempt)
	if err != nil {
		return nil, err
	}
	if isPod && f.controller != nil {
		if top := l.topOf(l.owner(f.namespace, f.controller)); top != nil {
			runs, pinned := runsTemplate(w, top.workload)
			if runs && !pinned {
				counts[f.controller.UID]++
				return nil, nil
			}
			addToGroup(groups, groupKey{top.uid, f.namespace, containersKey(w)}, ownerGroup{drifted: true, pinned: runs}, w, o)
			return nil, nil
		}
		if !(f.controller.Kind == "Node" && f.controller.APIVersion == "v1") {
			addToGroup(groups, groupKey{f.controller.UID, f.namespace, containersKey(w)}, ownerGroup{ref: *f.controller}, w, o)
			return nil, nil
		}
	}
	f.workload = w
	if isPod && !terminated(o) {
		f.pods = 1
	}
	return f, nil
}

// addToGroup counts pod o (decoded as w) in its group, created as g when
// new, keeping the newest pod's workload.
func addToGroup(groups map[groupKey]*ownerGroup, key groupKey, g ownerGroup, w *workload.Workload, o metav1.Object) {
	have := groups[key]
	if have == nil {
		have = &g
		groups[key] = have
	}
	have.pods++
	if created := o.GetCreationTimestamp(); have.newest == nil || have.created.Before(&created) || (have.created.Equal(&created) && o.GetName() > have.fromName) {
		have.newest, have.created, have.fromName, have.fromUID = w, created, o.GetName(), o.GetUID()
	}
}

// runsTemplate reports whether pod runs the containers of its owner's
// template (tmpl may be nil: an owner without one): the same names, types,
// OS and security contexts, and each image as the template writes it, or
// pinned, a digest added to it (name:tag@sha256:...) as strata's pin does.
// pinned says whether any is: the pod then runs that digest, which the tag
// need not name (it moved since, or never did).
func runsTemplate(pod, tmpl *workload.Workload) (runs, pinned bool) {
	if tmpl == nil {
		return false, false
	}
	runs = slices.EqualFunc(pod.Containers, tmpl.Containers, func(p, t workload.Container) bool {
		image := p.Image
		if base, _, ok := strings.Cut(p.Image, "@"); ok && !strings.Contains(t.Image, "@") && base == t.Image {
			image, pinned = t.Image, true
		}
		return p.Name == t.Name && p.Type == t.Type && p.OS == t.OS && image == t.Image && reflect.DeepEqual(p.SecurityContext, t.SecurityContext)
	})
	return runs, runs && pinned
}

// containersKey identifies a pod's containers for grouping its replicas.
func containersKey(w *workload.Workload) string {
	raw, _ := json.Marshal(w.Containers)
	return string(raw)
}

// commit adds what one complete list found.
func (l *clusterLister) commit(kept []*found, groups map[groupKey]*ownerGroup, counts map[types.UID]int) {
	for _, f := range kept {
		l.found[f.uid] = f
		if f.workload != nil {
			l.order = append(l.order, f)
		}
	}
	for uid, n := range counts {
		if top := l.topOf(l.found[uid]); top != nil {
			top.pods += n
		}
	}
	if len(groups) > 0 && l.groups == nil {
		l.groups = map[groupKey]*ownerGroup{}
	}
	for key, g := range groups {
		l.groups[key] = g
	}
}

// listedIn is the listed object of namespace ns with the given UID, or nil.
func (l *clusterLister) listedIn(ns string, uid types.UID) *found {
	if f := l.found[uid]; f != nil && f.namespace == ns {
		return f
	}
	return nil
}

// owner is the listed object ref names as the controller of an object of
// namespace ns, or nil: an object of another namespace with ref's UID is
// not its owner, as it is not to the garbage collector; nor is a pod, which
// no controller makes the owner of a workload, and which is listed last:
// taken for one, it was unknown when what it owns was counted under that,
// and known when that was dropped as owned. Without pods, the owners are
// the same whenever they are looked up.
func (l *clusterLister) owner(ns string, ref *metav1.OwnerReference) *found {
	if ref == nil {
		return nil
	}
	if f := l.listedIn(ns, ref.UID); f != nil && f.kind.gk != podKind {
		return f
	}
	return nil
}

var podKind = schema.GroupKind{Kind: "Pod"}

// topOf is the top-level owner of the listed object f: the last listed
// object up its chain of controllers, f itself when it has none. It is nil
// when f is. A chain that loops, which the garbage collector allows to
// exist, has for its top the member of the loop with the least UID,
// whichever member the walk starts from: what is counted under a top, and
// the objects listed as tops, must agree.
func (l *clusterLister) topOf(f *found) *found {
	if f == nil {
		return nil
	}
	seen := map[*found]int{}
	var path []*found
	for {
		seen[f] = len(path)
		path = append(path, f)
		up := l.owner(f.namespace, f.controller)
		if up == nil {
			return f
		}
		if i, loop := seen[up]; loop {
			return slices.MinFunc(path[i:], func(a, b *found) int { return cmp.Compare(a.uid, b.uid) })
		}
		f = up
	}
}

// objects are the workloads that match sel, sorted.
func (l *clusterLister) objects(sel labels.Selector) []Object {
	// An owner none of whose pods runs its template as written is
	// evaluated on what its newest pinned pods run.
	runsPinned := map[types.UID]*ownerGroup{}
	for key, g := range l.groups {
		if n := runsPinned[key.owner]; g.pinned && (n == nil || newer(g, n)) {
			runsPinned[key.owner] = g
		}
	}
	var out []Object
	for _, f := range l.order {
		if l.topOf(f) != f {
			continue // owned by an object listed after it
		}
		if !sel.Matches(labels.Set(f.workload.Labels)) {
			continue
		}
		w, pods := f.workload, f.pods
		if g := runsPinned[f.uid]; g != nil && pods == 0 {
			pinned := *w
			pinned.Containers = g.newest.Containers
			w, pods = &pinned, g.pods
		} else {
			delete(runsPinned, f.uid)
		}
		out = append(out, Object{Workload: w, APIVersion: f.kind.apiVersion, UID: string(f.uid), Pods: pods})
	}
	// The pods of an unlisted controller are named after it, by the group
	// of its newest pod; its other groups, and pods that drifted from a
	// listed owner, after their newest pod.
	newestOf := map[types.UID]*ownerGroup{}
	for key, g := range l.groups {
		if n := newestOf[key.owner]; !g.drifted && (n == nil || newer(g, n)) {
			newestOf[key.owner] = g
		}
	}
	for key, g := range l.groups {
		if g.pinned && runsPinned[key.owner] == g {
			continue // its owner is evaluated on it
		}
		if !sel.Matches(labels.Set(g.newest.Labels)) {
			continue
		}
		w := *g.newest
		// A controller strata lists (a pod) has its UID already, and one
		// whose reference is not a Kubernetes name is a tenant's free
		// text: the pods it controls are named after the newest of them.
		if !g.drifted && newestOf[key.owner] == g && l.listedIn(key.namespace, key.owner) == nil && wellNamed(g.ref) {
			w.Kind, w.Name = g.ref.Kind, g.ref.Name
			out = append(out, Object{Workload: &w, APIVersion: g.ref.APIVersion, UID: string(key.owner), Pods: g.pods})
			continue
		}
		out = append(out, Object{Workload: &w, APIVersion: "v1", UID: string(g.fromUID), Pods: g.pods})
	}
	slices.SortFunc(out, func(a, b Object) int {
		return cmp.Or(cmp.Compare(a.Workload.Namespace, b.Workload.Namespace), cmp.Compare(a.Workload.Kind, b.Workload.Kind),
			cmp.Compare(a.Workload.Name, b.Workload.Name), cmp.Compare(a.UID, b.UID))
	})
	return out
}

// wellNamed reports whether an ownerReference names its object as the API
// server names objects: the API server checks nothing of a reference but
// that its fields are there, and a workload's kind and name go into its
// report and every output.
func wellNamed(ref metav1.OwnerReference) bool {
	return len(validation.IsDNS1123Subdomain(ref.Name)) == 0 && len(validation.IsDNS1035Label(strings.ToLower(ref.Kind))) == 0
}

// newer reports whether group g's newest pod is newer than n's, by
// creation, then by name.
func newer(g, n *ownerGroup) bool {
	return n.created.Before(&g.created) || (n.created.Equal(&g.created) && g.fromName > n.fromName)
}

// decode gives the Workload the webhook would see for o: it decodes the JSON
// the API server would send, with the same function.
func decode(k *kind, o metav1.Object, exempt func(string) bool) (*workload.Workload, error) {
	raw, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", k.gk.Kind, o.GetNamespace(), o.GetName(), err)
	}
	w, err := workload.Decode(k.gk, raw)
	if err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", k.gk.Kind, o.GetNamespace(), o.GetName(), err)
	}
	if p, ok := o.(*corev1.Pod); ok {
		withRunningDigests(w, p, exempt)
	}
	return w, nil
}

// withRunningDigests adds to each container of w whose image names no
// digest the digest its pod's status says it runs (imageID, which the
// kubelet writes from the runtime), when that is of the image's own
// repository: a container keeps the digest its tag named when it was
// pulled, however the tag moved since (a patched base; a root image pushed,
// run, then the tag put back). The image then reads tag@digest, as strata's
// pin writes it, and is judged at that digest. An image exempt says is
// exempt keeps its tag, as the pin leaves it.
func withRunningDigests(w *workload.Workload, p *corev1.Pod, exempt func(string) bool) {
	type named struct {
		init bool
		name string
	}
	ran := map[named]string{}
	for _, s := range p.Status.InitContainerStatuses {
		ran[named{true, s.Name}] = s.ImageID
	}
	for _, s := range slices.Concat(p.Status.ContainerStatuses, p.Status.EphemeralContainerStatuses) {
		ran[named{false, s.Name}] = s.ImageID
	}
	for i, c := range w.Containers {
		id := ran[named{c.Type == workload.TypeInit || c.Type == workload.TypeSidecar, c.Name}]
		if exempt != nil && exempt(c.Image) {
			continue
		}
		if d, ok := runningDigest(c.Image, id); ok {
			w.Containers[i].Image = c.Image + "@" + d
		}
	}
}

// runningDigest is the digest of imageID, a runtime's repository digest
// (registry/repository@sha256:..., after a scheme such as cri-dockerd's
// docker-pullable://), when image names no digest and imageID is of its
// repository; an image ID without a repository (a local image's) says
// nothing of where the image came from.
func runningDigest(image, imageID string) (string, bool) {
	if _, rest, ok := strings.Cut(imageID, "://"); ok {
		imageID = rest
	}
	if imageID == "" || strings.Contains(image, "@") {
		return "", false
	}
	ref, err := images.ParseReference(image)
	if err != nil {
		return "", false
	}
	id, err := images.ParseReference(imageID)
	if err != nil || !id.ByDigest() || id.Name() != ref.Name() {
		return "", false
	}
	return id.Digest.String(), true
}

// terminated reports whether o is a pod that has finished.
func terminated(o metav1.Object) bool {
	p, ok := o.(*corev1.Pod)
	return ok && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed)
}

// plural is the kind's resource as kubectl names it: pods, deployments.apps.
func plural(k *kind) string {
	r := strings.ToLower(k.gk.Kind) + "s"
	if k.gk.Group == "" {
		return r
	}
	return r + "." + k.gk.Group
}

func inNamespace(ns string) string {
	if ns == "" {
		return " in every namespace"
	}
	return " in namespace " + ns
}
