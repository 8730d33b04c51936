package audit

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
)

// Report metadata strata writes and reads back.
const (
	// ReportSource is every result's source (and a Report's).
	ReportSource = "strata"
	// LabelManagedBy marks the reports strata owns: only these are ever
	// updated or deleted.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// AnnotationReportHash is the hash of a report's content without its
	// timestamps: a run whose report hashes the same skips the write.
	AnnotationReportHash = "strata.dev/report-hash"
	// AnnotationPassesOmitted counts the passes left out of a report too
	// large for the API server; its summary still counts them.
	AnnotationPassesOmitted = "strata.dev/passes-omitted"
	// maxReportBytes keeps a report, timestamps added, under the 1.5 MiB
	// an API server object can be.
	maxReportBytes = 1 << 20
	// reportFormat is part of the hash, so that a strata whose reports
	// say something new rewrites the unchanged ones once.
	reportFormat = "strata-report/1"
	// reportNamePrefix keeps strata's reports apart from Kyverno's and
	// Kubewarden's, which are named after the bare resource UID.
	reportNamePrefix = "strata-"
)

// Result values of the report schemas.
const (
	ResultPass  = "pass"
	ResultFail  = "fail"
	ResultWarn  = "warn"
	ResultError = "error"
	ResultSkip  = "skip"
)

// reportKinds are the resources of one report API.
type reportKinds struct {
	namespaced, cluster schema.GroupVersionResource
	kind, clusterKind   string
	// topSource: openreports.io has a report-level source field.
	topSource bool
}

var apis = map[ReportAPI]reportKinds{
	ReportAPIWGPolicy: {
		namespaced:  schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"},
		cluster:     schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "clusterpolicyreports"},
		kind:        "PolicyReport",
		clusterKind: "ClusterPolicyReport",
	},
	ReportAPIOpenReports: {
		namespaced:  schema.GroupVersionResource{Group: "openreports.io", Version: "v1alpha1", Resource: "reports"},
		cluster:     schema.GroupVersionResource{Group: "openreports.io", Version: "v1alpha1", Resource: "clusterreports"},
		kind:        "Report",
		clusterKind: "ClusterReport",
		topSource:   true,
	},
}

// hashedNamePrefix starts the name of a report whose workload's UID cannot
// be part of a name.
const hashedNamePrefix = reportNamePrefix + "sha256-"

// ReportName is the name of a workload's report: strata-<uid>. A UID that
// cannot be part of a valid name (the uid of a tenant's ownerReference is
// free text: capitals, a slash, a kilobyte), or that could be mistaken for
// a hashed one, is named by its hash instead, so that every UID has a name
// the API server accepts and no two share one.
func ReportName(uid string) string {
	name := reportNamePrefix + uid
	if !strings.HasPrefix(name, hashedNamePrefix) && len(validation.IsDNS1123Subdomain(name)) == 0 {
		return name
	}
	sum := sha256.Sum256([]byte(uid))
	return hashedNamePrefix + hex.EncodeToString(sum[:16])
}

// resultOf maps a policy's violations on one container and platform to a
// result: a violation that denies when enforced, or one recorded in audit
// (what Kyverno reports for its Audit policies), fails; one that only
// warns is a warning; what was found where nothing could be checked (an
// image not resolved, policies that failed to evaluate) is an error.
func resultOf(action policy.Action, unchecked bool) string {
	switch {
	case unchecked:
		return ResultError
	case action == policy.Warn:
		return ResultWarn
	default:
		return ResultFail
	}
}

// severityOf is a policy's severity from its configured action, not from
// the run's mode: what enforcing would deny is high whatever mode the
// audit ran in.
func severityOf(action policy.Action) string {
	switch action {
	case policy.Enforce:
		return "high"
	case policy.Warn:
		return "medium"
	default:
		return "low"
	}
}

// resultKey is one row of a report: a policy on one container and platform.
type resultKey struct{ policy, container, platform string }

// reportBuilder turns one workload of an inventory into its report.
type reportBuilder struct {
	kinds    reportKinds
	policies []policy.Meta // the policies that are not off, by ID
	metas    map[string]policy.Meta
	images   map[string]*inventory.Image // by digest
	now      time.Time
}

func newReportBuilder(kinds reportKinds, metas []policy.Meta, inv *inventory.Inventory, now time.Time) *reportBuilder {
	b := &reportBuilder{kinds: kinds, metas: map[string]policy.Meta{}, images: map[string]*inventory.Image{}, now: now}
	for _, m := range metas {
		if m.Action == policy.Off {
			continue
		}
		b.policies = append(b.policies, m)
		b.metas[m.ID] = m
	}
	slices.SortFunc(b.policies, func(x, y policy.Meta) int { return cmp.Compare(x.ID, y.ID) })
	for i := range inv.Images {
		b.images[inv.Images[i].Digest.String()] = &inv.Images[i]
	}
	return b
}

// report is the workload's report and the hash of its content, timestamps
// left out.
func (b *reportBuilder) report(w *inventory.Workload) (*unstructured.Unstructured, string, error) {
	results, summary := b.results(w)
	kind, namespace := b.kinds.kind, w.Namespace
	if namespace == "" {
		kind = b.kinds.clusterKind
	}
	scope := map[string]any{"apiVersion": w.APIVersion, "kind": w.Kind, "name": w.Name, "uid": w.UID}
	if namespace != "" {
		scope["namespace"] = namespace
	}
	meta := map[string]any{
		"name":   ReportName(w.UID),
		"labels": map[string]any{LabelManagedBy: ReportSource},
		// Not the controller, and not blocking the owner's deletion (which
		// would need the owner's finalizers permission): the report only
		// goes with its workload.
		"ownerReferences": []any{map[string]any{"apiVersion": w.APIVersion, "kind": w.Kind, "name": w.Name, "uid": w.UID}},
	}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	obj := map[string]any{
		"apiVersion": b.kinds.namespaced.GroupVersion().String(),
		"kind":       kind,
		"metadata":   meta,
		"scope":      scope,
		"summary":    summary,
		"results":    results,
	}
	if b.kinds.topSource {
		obj["source"] = ReportSource
	}
	// encoding/json writes map keys sorted: the same report hashes the same.
	content, err := json.Marshal(obj)
	if err != nil {
		return nil, "", fmt.Errorf("encoding the report of %s %s/%s: %w", w.Kind, w.Namespace, w.Name, err)
	}
	annotations := map[string]any{}
	if len(content) > maxReportBytes {
		// The API server stores an object of at most 1.5 MiB: what passes
		// goes first, still counted in the summary, so that what fails is
		// written.
		kept := slices.DeleteFunc(results, func(r any) bool { return r.(map[string]any)["result"] == ResultPass })
		annotations[AnnotationPassesOmitted] = strconv.Itoa(len(results) - len(kept))
		results, obj["results"] = kept, kept
		if content, err = json.Marshal(obj); err != nil {
			return nil, "", fmt.Errorf("encoding the report of %s %s/%s: %w", w.Kind, w.Namespace, w.Name, err)
		}
		if len(content) > maxReportBytes {
			return nil, "", fmt.Errorf("the report of %s %s/%s would be %d bytes without its passes, over the %d an API server object can hold: split its containers over several workloads, or see its results with strata audit",
				w.Kind, w.Namespace, w.Name, len(content), maxReportBytes)
		}
	}
	sum := sha256.Sum256(append([]byte(reportFormat+"\n"), content...))
	hash := hex.EncodeToString(sum[:])
	annotations[AnnotationReportHash] = hash
	meta["annotations"] = annotations
	stamp := map[string]any{"seconds": b.now.Unix(), "nanos": int64(b.now.Nanosecond())}
	for _, r := range results {
		r.(map[string]any)["timestamp"] = stamp
	}
	return &unstructured.Unstructured{Object: obj}, hash, nil
}

// results are one result per policy × container × platform evaluated, in
// the workload's container order, and the summary that counts them. A
// violation the grid does not foresee (a policy not in the list, a
// container-wide violation past the evaluation bound) is reported too:
// nothing found is left out.
func (b *reportBuilder) results(w *inventory.Workload) ([]any, map[string]any) {
	found := map[resultKey][]policy.Violation{}
	// failed are the containers and platforms the policies could not be
	// evaluated on: none of their policies passed.
	failed := map[resultKey]bool{}
	for _, v := range w.Violations {
		k := resultKey{v.Policy, v.Container, v.Platform}
		found[k] = append(found[k], v)
		if v.Policy == policy.PolicyError {
			failed[resultKey{container: v.Container, platform: v.Platform}] = true
		}
	}
	containers := map[string]*inventory.Container{}
	var keys []resultKey
	seen := map[resultKey]bool{}
	add := func(k resultKey) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for i := range w.Containers {
		c := &w.Containers[i]
		containers[c.Name] = c
		for _, p := range b.platformsOf(c) {
			for _, m := range b.policies {
				add(resultKey{m.ID, c.Name, p})
			}
		}
	}
	var extra []resultKey
	for k := range found {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	slices.SortFunc(extra, func(x, y resultKey) int {
		return cmp.Or(cmp.Compare(x.container, y.container), cmp.Compare(x.platform, y.platform), cmp.Compare(x.policy, y.policy))
	})
	for _, k := range extra {
		add(k)
	}

	counts := map[string]int64{ResultPass: 0, ResultFail: 0, ResultWarn: 0, ResultError: 0, ResultSkip: 0}
	results := make([]any, 0, len(keys))
	for _, k := range keys {
		r := b.result(k, containers[k.container], found[k], failed[resultKey{container: k.container, platform: k.platform}])
		counts[r["result"].(string)]++
		results = append(results, r)
	}
	summary := map[string]any{}
	for k, n := range counts {
		summary[k] = n
	}
	return results, summary
}

// platformsOf are the platforms a container was evaluated on; one unnamed
// platform when its image was not resolved.
func (b *reportBuilder) platformsOf(c *inventory.Container) []string {
	if c.Error != "" || c.Digest.IsZero() {
		return []string{""}
	}
	if len(c.Platforms) > 0 {
		return c.Platforms
	}
	// An inventory from before Container.Platforms: the image's platforms.
	var ps []string
	if img := b.images[c.Digest.String()]; img != nil {
		for _, p := range img.Platforms {
			ps = append(ps, p.Platform)
		}
	}
	if len(ps) == 0 {
		return []string{""}
	}
	return ps
}

// result is one row: the violations found for k, or a pass (or a skip when
// the policy could not look). An evaluation failure is an error, like an
// image not resolved: neither was checked.
func (b *reportBuilder) result(k resultKey, c *inventory.Container, vs []policy.Violation, evalFailed bool) map[string]any {
	meta, known := b.metas[k.policy]
	unresolved := c != nil && (c.Error != "" || c.Digest.IsZero())
	r := map[string]any{
		"source":     ReportSource,
		"policy":     k.policy,
		"rule":       ruleName(k),
		"category":   cmp.Or(meta.Title, k.policy),
		"properties": b.properties(k, c),
	}
	switch {
	case len(vs) > 0:
		strongest := vs[0].Action
		msgs := make([]string, len(vs))
		for i, v := range vs {
			msgs[i] = v.Msg
			if policy.Milder(v.Action, strongest) != v.Action {
				strongest = v.Action
			}
		}
		slices.Sort(msgs)
		r["result"] = resultOf(strongest, unresolved || k.policy == policy.PolicyError)
		r["message"] = strings.Join(slices.Compact(msgs), "; ")
		if !known {
			meta.Action = strongest
		}
	case meta.Inactive != "":
		r["result"] = ResultSkip
		r["message"] = fmt.Sprintf("policy %s is not configured: %s", k.policy, meta.Inactive)
	case evalFailed:
		r["result"] = ResultSkip
		r["message"] = fmt.Sprintf("container %q: the policies could not be evaluated, so %s did not check it (see %s)", k.container, k.policy, policy.PolicyError)
	case unresolved:
		r["result"] = ResultSkip
		r["message"] = fmt.Sprintf("container %q: image %q was not resolved, so %s could not check it (see image-resolution)", k.container, c.Image, k.policy)
	default:
		r["result"] = ResultPass
		r["message"] = passMessage(k, c, meta)
	}
	r["severity"] = severityOf(meta.Action)
	return r
}

func passMessage(k resultKey, c *inventory.Container, meta policy.Meta) string {
	what := cmp.Or(meta.Title, k.policy)
	image := ""
	if c != nil {
		image = c.Image
	}
	if k.platform == "" {
		return fmt.Sprintf("container %q, image %q: %s", k.container, image, what)
	}
	return fmt.Sprintf("container %q, image %q on %s: %s", k.container, image, k.platform, what)
}

// ruleName says which container (and platform) a row is about: one policy
// has a row per container and platform.
func ruleName(k resultKey) string {
	if k.platform == "" {
		return k.container
	}
	return k.container + "@" + k.platform
}

// properties carry what the row was decided on: the image, its digest,
// the platform's manifest and its lineage. The schemas want strings.
func (b *reportBuilder) properties(k resultKey, c *inventory.Container) map[string]any {
	p := map[string]any{"container": k.container}
	if k.platform != "" {
		p["platform"] = k.platform
	}
	if c == nil {
		return p
	}
	p["image"] = c.Image
	if c.Error != "" {
		p["error"] = c.Error
		if c.ErrorKind != "" {
			p["errorKind"] = string(c.ErrorKind)
		}
	}
	if c.Digest.IsZero() {
		return p
	}
	p["digest"] = c.Digest.String()
	img := b.images[c.Digest.String()]
	if img == nil {
		return p
	}
	i := slices.IndexFunc(img.Platforms, func(q inventory.Platform) bool { return q.Platform == k.platform })
	if i < 0 {
		return p
	}
	pl := img.Platforms[i]
	p["platformDigest"] = pl.Digest.String()
	p["depth"] = strconv.Itoa(pl.Lineage.Depth)
	p["complete"] = strconv.FormatBool(pl.Lineage.Complete)
	chain := make([]string, len(pl.Lineage.Chain))
	var stale []string
	for i, e := range pl.Lineage.Chain {
		chain[i] = entryName(e)
		if !e.Current {
			stale = append(stale, fmt.Sprintf("%s was built on %s; it now points to %s", e.MovedTag, e.Digest, e.CurrentDigest))
		}
	}
	if len(chain) > 0 {
		p["lineage"] = strings.Join(chain, " > ")
		p["base"] = chain[len(chain)-1]
	}
	p["stale"] = strconv.FormatBool(len(stale) > 0)
	if len(stale) > 0 {
		p["staleBases"] = strings.Join(stale, "; ")
	}
	return p
}

// entryName is a chain entry as name@digest, the name the catalog or a
// verified claim gave it.
func entryName(e lineage.Entry) string {
	name := e.ClaimedName
	if len(e.Refs) > 0 {
		name = e.Refs[0]
	}
	if name == "" {
		return e.Digest.String()
	}
	if i := strings.LastIndex(name, "@"); i >= 0 {
		name = name[:i]
	}
	return name + "@" + e.Digest.String()
}
