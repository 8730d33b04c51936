// Package audit reports on what already runs in a cluster: the impact
// preview of enforcing (grouped by policy and by base image) and the
// policy reports the report UIs read.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"

	"golang.org/x/sync/errgroup"

	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/report"
)

// ReportAPI is the API group reports are written in.
type ReportAPI string

const (
	// ReportAPIWGPolicy is wgpolicyk8s.io/v1alpha2 PolicyReport and
	// ClusterPolicyReport: what Kyverno writes and Policy Reporter reads.
	ReportAPIWGPolicy ReportAPI = "wgpolicyk8s"
	// ReportAPIOpenReports is openreports.io/v1alpha1 Report and ClusterReport.
	ReportAPIOpenReports ReportAPI = "openreports"
)

// FieldManager is the server-side apply field manager of strata's reports.
const FieldManager = "strata"

// WriterOptions configure a Writer.
type WriterOptions struct {
	// API is the report API written. Default: ReportAPIWGPolicy.
	API ReportAPI
	// QPS bounds the API calls per second, lists, applies and deletes
	// alike. Default: DefaultQPS.
	QPS float64
	// Burst is the calls allowed at once above QPS. Default: 10.
	Burst int
	// Concurrency bounds the calls in flight. Default: 4.
	Concurrency int
	// ChunkSize is the page size of the list of existing reports.
	// Default: 500.
	ChunkSize int64
	// Metadata, when set, lists the existing reports by their metadata
	// only: the API server sends names and annotations, not every result,
	// which is most of a second run's bytes. NewWriterForConfig sets it.
	// Default: the dynamic client's full lists.
	Metadata metadata.Interface
	// Policies are the policies evaluated (policy.Engine.Policies): a
	// policy with no violation on a container is reported as a pass.
	Policies []policy.Meta
	// Now stamps the results. Default: time.Now.
	Now func() time.Time
}

// Scope is what a run listed: reports of workloads inside it that the run
// did not find are deleted; reports outside it are left alone.
type Scope struct {
	Namespace string // "" is every namespace
	Selector  string // a run with a selector deletes nothing
}

// WriteSummary counts what Write did.
type WriteSummary struct {
	Created, Updated, Unchanged, Deleted int
	// Calls are the API requests Write made: lists, applies and deletes.
	Calls int
}

// Writer writes one report per workload of an inventory.
type Writer struct {
	client  dynamic.Interface
	opts    WriterOptions
	kinds   reportKinds
	limiter flowcontrol.RateLimiter
}

// DefaultQPS is the writer's calls per second unless told: the reports of
// 2,000 workloads are written in about 40 s.
const DefaultQPS = 50

// NewWriter returns a Writer.
func NewWriter(client dynamic.Interface, opts WriterOptions) *Writer {
	if opts.API == "" {
		opts.API = ReportAPIWGPolicy
	}
	if opts.QPS <= 0 {
		opts.QPS = DefaultQPS
	}
	if opts.Burst <= 0 {
		opts.Burst = 10
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 500
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Writer{
		client: client, opts: opts, kinds: apis[opts.API],
		limiter: flowcontrol.NewTokenBucketRateLimiter(float32(opts.QPS), opts.Burst),
	}
}

// NewWriterForConfig returns a Writer with both the dynamic client it
// writes with and the metadata client it lists with.
func NewWriterForConfig(cfg *rest.Config, opts WriterOptions) (*Writer, error) {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("a client for the report API: %w", err)
	}
	if opts.Metadata == nil {
		if opts.Metadata, err = metadata.NewForConfig(cfg); err != nil {
			return nil, fmt.Errorf("a metadata client for the report API: %w", err)
		}
	}
	return NewWriter(client, opts), nil
}

// existing is what the list of strata's reports found of one report.
type existing struct {
	hash string
	// edited is set when another field manager wrote its content: its hash
	// annotation, which anyone who can edit the report can keep, no longer
	// says what it holds.
	edited bool
}

// editedByOthers reports whether a field manager other than strata's
// server-side apply owns a field of the report outside its metadata
// (kubectl edit of its results, say): a metadata-only change (a label
// added) leaves the results strata's. strata only applies, and a manager's
// name is the writer's to choose (kubectl edit --field-manager=strata), so
// an Update, or a subresource's write, under strata's name is another's.
func editedByOthers(fields []metav1.ManagedFieldsEntry) bool {
	for _, f := range fields {
		if f.FieldsV1 == nil || f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply && f.Subresource == "" {
			continue
		}
		var owned map[string]json.RawMessage
		if json.Unmarshal(f.FieldsV1.GetRawBytes(), &owned) != nil {
			return true
		}
		for k := range owned {
			if k != "f:metadata" {
				return true
			}
		}
	}
	return false
}

// reportRef names one report: cluster-scoped when namespace is "".
type reportRef struct{ namespace, name string }

// Write writes the inventory's reports: one per workload that is not
// exempt, server-side applied, skipped when the report there already says
// the same (its hash annotation). Then, unless the run had a selector, it
// deletes strata's reports in the scope that belong to no workload written
// (a workload deleted, or now exempt). Other tools' reports are never
// touched: only reports labelled managed-by strata and named strata-<uid>.
// A failed write does not stop the others; the error names each.
func (w *Writer) Write(ctx context.Context, inv *inventory.Inventory, scope Scope) (WriteSummary, error) {
	var calls atomic.Int64
	sum, err := w.write(ctx, inv, scope, &calls)
	sum.Calls = int(calls.Load())
	return sum, err
}

func (w *Writer) write(ctx context.Context, inv *inventory.Inventory, scope Scope, calls *atomic.Int64) (WriteSummary, error) {
	var sum WriteSummary
	if _, ok := apis[w.opts.API]; !ok {
		return sum, fmt.Errorf("report API %q: want %s or %s", w.opts.API, ReportAPIWGPolicy, ReportAPIOpenReports)
	}
	if err := writable(inv, scope); err != nil {
		return sum, err
	}
	have, err := w.list(ctx, scope, calls)
	if err != nil {
		return sum, err
	}

	b := newReportBuilder(w.kinds, w.opts.Policies, inv, w.opts.Now())
	var (
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, shownError{err})
		mu.Unlock()
	}
	count := func(f func()) {
		mu.Lock()
		f()
		mu.Unlock()
	}
	written := map[reportRef]bool{}
	var g errgroup.Group
	g.SetLimit(w.opts.Concurrency)
	for i := range inv.Workloads {
		wl := &inv.Workloads[i]
		if wl.Exempt {
			continue
		}
		ref := reportRef{wl.Namespace, ReportName(wl.UID)}
		written[ref] = true
		obj, hash, err := b.report(wl)
		if err != nil {
			fail(err)
			continue
		}
		old, found := have[ref]
		if found && old.hash == hash && !old.edited {
			sum.Unchanged++
			continue
		}
		g.Go(func() error {
			if err := w.apply(ctx, obj, calls); err != nil {
				fail(fmt.Errorf("writing report %s for %s %s/%s: %w", ref.name, wl.Kind, wl.Namespace, wl.Name, err))
				return nil
			}
			count(func() {
				if found {
					sum.Updated++
				} else {
					sum.Created++
				}
			})
			return nil
		})
	}
	if scope.Selector == "" {
		for ref := range have {
			if written[ref] {
				continue
			}
			g.Go(func() error {
				err := w.delete(ctx, ref, calls)
				if err != nil && !apierrors.IsNotFound(err) {
					fail(fmt.Errorf("deleting report %s/%s of a workload that no longer runs: %w", ref.namespace, ref.name, err))
					return nil
				}
				count(func() { sum.Deleted++ })
				return nil
			})
		}
	}
	_ = g.Wait()
	if len(errs) > 0 {
		return sum, fmt.Errorf("%d of the report writes failed: %w", len(errs), errors.Join(firstErrors(errs, 10)...))
	}
	return sum, nil
}

// shownError is a write error as it may be printed: a workload's kind and
// name can come from a tenant's ownerReference, which the API server takes
// as free text (escapes, a megabyte), and the API server's own errors echo
// them; cleaned and cut short, they cannot redraw the terminal of whoever
// runs the audit.
type shownError struct{ err error }

// maxShownError bounds one error's text: enough for a Kubernetes name
// (253 bytes) several times over.
const maxShownError = 1024

func (e shownError) Error() string {
	msg := report.Clean(e.err.Error())
	if len(msg) > maxShownError {
		msg = strings.ToValidUTF8(msg[:maxShownError], "") + "…"
	}
	return msg
}

func (e shownError) Unwrap() error { return e.err }

// firstErrors keeps an error list readable: a cluster that refuses every
// write says so ten times, not two thousand.
func firstErrors(errs []error, n int) []error {
	if len(errs) <= n {
		return errs
	}
	return append(errs[:n:n], fmt.Errorf("and %d more", len(errs)-n))
}

// writable refuses an inventory a report cannot point at: a report is
// owned by its workload, by UID, so only objects read from a cluster have
// one. It refuses a workload outside the scope too: the reports listed are
// the scope's, so one outside it could be neither skipped when unchanged
// nor told apart from a new one.
func writable(inv *inventory.Inventory, scope Scope) error {
	var missing, outside []string
	for _, wl := range inv.Workloads {
		name := shownError{fmt.Errorf("%s %s/%s", wl.Kind, wl.Namespace, wl.Name)}.Error()
		switch {
		case wl.Exempt:
		case wl.UID == "" || wl.APIVersion == "":
			missing = append(missing, name)
		case scope.Namespace != "" && wl.Namespace != scope.Namespace:
			outside = append(outside, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("reports are written only for workloads read from a cluster (an owner needs a UID and an apiVersion); these have none: %s",
			strings.Join(firstStrings(missing, 5), ", "))
	}
	if len(outside) > 0 {
		return fmt.Errorf("the run's scope is namespace %s, but the inventory has workloads outside it: %s; list the same namespace the reports are written for",
			scope.Namespace, strings.Join(firstStrings(outside, 5), ", "))
	}
	return nil
}

func firstStrings(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
}

// list reads strata's reports in the scope, page by page, namespaced and,
// for a run over every namespace, cluster-scoped.
func (w *Writer) list(ctx context.Context, scope Scope, calls *atomic.Int64) (map[reportRef]existing, error) {
	have := map[reportRef]existing{}
	for _, r := range []struct {
		gvr       schema.GroupVersionResource
		namespace string
		run       bool
	}{
		{w.kinds.namespaced, scope.Namespace, true},
		{w.kinds.cluster, "", scope.Namespace == ""},
	} {
		if !r.run {
			continue
		}
		if err := w.listResource(ctx, r.gvr, w.lister(r.gvr, r.namespace), have, calls); err != nil {
			return nil, err
		}
	}
	return have, nil
}

// listPage is one page of a list: the objects' metadata and the continue
// token.
type listPage func(ctx context.Context, opts metav1.ListOptions) ([]metav1.Object, string, error)

// lister lists by metadata when the Writer has a metadata client, in full
// otherwise. A namespaced resource in namespace "" lists every namespace.
func (w *Writer) lister(gvr schema.GroupVersionResource, namespace string) listPage {
	if w.opts.Metadata != nil {
		res := metadata.ResourceInterface(w.opts.Metadata.Resource(gvr))
		if gvr == w.kinds.namespaced {
			res = w.opts.Metadata.Resource(gvr).Namespace(namespace)
		}
		return pages(res.List, func(l *metav1.PartialObjectMetadataList) ([]metav1.Object, string) {
			return objectsOf(l.Items), l.Continue
		})
	}
	res := dynamic.ResourceInterface(w.client.Resource(gvr))
	if gvr == w.kinds.namespaced {
		res = w.client.Resource(gvr).Namespace(namespace)
	}
	return pages(res.List, func(l *unstructured.UnstructuredList) ([]metav1.Object, string) {
		return objectsOf(l.Items), l.GetContinue()
	})
}

// pages adapts a client's List to a listPage.
func pages[L any](list func(context.Context, metav1.ListOptions) (*L, error), read func(*L) ([]metav1.Object, string)) listPage {
	return func(ctx context.Context, opts metav1.ListOptions) ([]metav1.Object, string, error) {
		l, err := list(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		items, next := read(l)
		return items, next, nil
	}
}

func objectsOf[E any, P interface {
	*E
	metav1.Object
}](items []E) []metav1.Object {
	out := make([]metav1.Object, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

// listResource pages through one resource; a continue token that expired
// (410 Gone) restarts the list, as a reader of a changing list must.
func (w *Writer) listResource(ctx context.Context, gvr schema.GroupVersionResource, list listPage, have map[reportRef]existing, calls *atomic.Int64) error {
	opts := metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ReportSource, Limit: w.opts.ChunkSize}
	page := map[reportRef]existing{}
	for restarts := 0; ; {
		if err := w.limiter.Wait(ctx); err != nil {
			return err
		}
		calls.Add(1)
		items, next, err := list(ctx, opts)
		switch {
		case apierrors.IsResourceExpired(err) && restarts < 3:
			restarts++
			opts.Continue, page = "", map[reportRef]existing{}
			continue
		case apierrors.IsNotFound(err):
			return fmt.Errorf("the cluster does not serve %s: install its CRDs (%s), or choose the other report API (%s or %s)",
				gvr.GroupResource(), w.crdHint(), ReportAPIWGPolicy, ReportAPIOpenReports)
		case err != nil:
			return fmt.Errorf("listing strata's %s: %w", gvr.GroupResource(), err)
		}
		for _, item := range items {
			if !strings.HasPrefix(item.GetName(), reportNamePrefix) {
				continue // labelled by someone else's hand: not strata's to delete
			}
			page[reportRef{item.GetNamespace(), item.GetName()}] = existing{
				hash: item.GetAnnotations()[AnnotationReportHash], edited: editedByOthers(item.GetManagedFields()),
			}
		}
		if opts.Continue = next; opts.Continue == "" {
			break
		}
	}
	for k, v := range page {
		have[k] = v
	}
	return nil
}

func (w *Writer) crdHint() string {
	if w.opts.API == ReportAPIOpenReports {
		return "github.com/openreports/reports-api config/crd"
	}
	return "Kyverno's or Policy Reporter's wgpolicyk8s.io CRDs"
}

// apply server-side applies one report, forcing strata's ownership of its
// fields: the report is strata's to say.
func (w *Writer) apply(ctx context.Context, obj *unstructured.Unstructured, calls *atomic.Int64) error {
	if err := w.limiter.Wait(ctx); err != nil {
		return err
	}
	calls.Add(1)
	gvr, res := w.kinds.namespaced, dynamic.ResourceInterface(nil)
	if obj.GetNamespace() == "" {
		gvr = w.kinds.cluster
		res = w.client.Resource(gvr)
	} else {
		res = w.client.Resource(gvr).Namespace(obj.GetNamespace())
	}
	_, err := res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	return err
}

func (w *Writer) delete(ctx context.Context, ref reportRef, calls *atomic.Int64) error {
	if err := w.limiter.Wait(ctx); err != nil {
		return err
	}
	calls.Add(1)
	if ref.namespace == "" {
		return w.client.Resource(w.kinds.cluster).Delete(ctx, ref.name, metav1.DeleteOptions{})
	}
	return w.client.Resource(w.kinds.namespaced).Namespace(ref.namespace).Delete(ctx, ref.name, metav1.DeleteOptions{})
}
