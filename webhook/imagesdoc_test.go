package webhook

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

const imagesMd = "../docs/images.md"

// docs/images.md's table of caches gives the shares of cache.maxBytes that
// are not the resolver's (webhook/images asserts those): each is the
// fraction cacheBudget and inputPartsBytes give of the default budget.
func TestImagesMdCacheTableStatesTheSharesOutsideTheResolver(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	total := cfg.Cache.MaxBytes.Value()
	_, secrets, results, lineages := cfg.cacheBudget()
	rows := map[string]string{}
	for _, cells := range testutil.DocTable(t, imagesMd, "## Caches\n") {
		if len(cells) == 4 {
			rows[cells[0]] = cells[2]
		}
	}
	for _, want := range []struct {
		row   string
		bytes int64
	}{
		{"pull-secret credentials (`serve` with pull secrets)", secrets},
		{"policy results", results},
		{"lineages", lineages},
	} {
		if share := fmt.Sprintf("1/%d", total/want.bytes); !strings.HasPrefix(rows[want.row], share) {
			t.Errorf("docs/images.md: the %s cache's share is %q; the code gives it %s of cache.maxBytes", want.row, rows[want.row], share)
		}
	}
	// The parts' row is the one whose first cell names them.
	var parts string
	for row, share := range rows {
		if strings.HasPrefix(row, "parts of the policy input") {
			parts = share
		}
	}
	if share := fmt.Sprintf("1/%d:", total/cfg.inputPartsBytes()); !strings.HasPrefix(parts, share) {
		t.Errorf("docs/images.md: the input parts' share is %q; the code gives them %s of cache.maxBytes", parts, share)
	}
}

// docs/images.md: a workload is checked on at most 1,000 containers ×
// platforms, and a check resolves its images 8 at a time: the Checker's
// defaults.
func TestImagesMdStatesTheCheckersBounds(t *testing.T) {
	t.Parallel()
	opts := NewChecker(CheckerOptions{}).opts
	doc := testutil.DocProse(t, imagesMd)
	for _, sentence := range []string{
		fmt.Sprintf("A workload is checked on at most %s containers × platforms (`CheckerOptions.MaxEvaluations`", testutil.Thousands(opts.MaxEvaluations)),
		fmt.Sprintf("the fetches that outlive an admission are at most the ones it had started (%d at a time)", opts.Concurrency),
	} {
		if !strings.Contains(doc, sentence) {
			t.Errorf("docs/images.md does not say %q, which the Checker's defaults make true", sentence)
		}
	}
}

// docs/images.md: a fetch shared by concurrent callers, and the wait for a
// registry's response headers, are bounded by registry.timeout: the
// configuration gives the resolver registry.timeout as its FetchTimeout,
// which bounds both (webhook/images tests each with FetchTimeout).
func TestImagesMdRegistryTimeoutBoundsSharedFetchesAndHeaders(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Registry.Timeout.Duration = 1234 * time.Millisecond
	if got := cfg.resolverOptions().FetchTimeout; got != cfg.Registry.Timeout.Duration {
		t.Errorf("resolverOptions().FetchTimeout = %v with registry.timeout %v; docs/images.md says the one bounds the other", got, cfg.Registry.Timeout.Duration)
	}
	doc := testutil.DocProse(t, imagesMd)
	for _, sentence := range []string{
		"(singleflight) runs detached from any one caller, bounded by `registry.timeout`",
		"The default transport waits at most `registry.timeout` for response headers (`ResponseHeaderTimeout`)",
	} {
		if !strings.Contains(doc, sentence) {
			t.Errorf("docs/images.md no longer says %q", sentence)
		}
	}
}

// cancellingEvaluator ends the request (cancel) once the first container
// has been evaluated, and records the containers it evaluated.
type cancellingEvaluator struct {
	Evaluator
	cancel    context.CancelFunc
	mu        sync.Mutex
	evaluated []string
}

func (e *cancellingEvaluator) Evaluate(ctx context.Context, container, platform string, in policy.Input) []policy.Violation {
	e.mu.Lock()
	e.evaluated = append(e.evaluated, container)
	e.mu.Unlock()
	defer e.cancel()
	return e.Evaluator.Evaluate(ctx, container, platform, in)
}

// docs/images.md: no evaluation starts after the request's deadline; the
// containers left get one limit violation that names the deadline.
func TestContainersLeftAtTheDeadlineGetOneLimitViolation(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	host := imagetest.Registry(t)
	imagetest.Push(t, host+"/shop/app:1", imagetest.Image(t, 1, nil))
	r, err := images.NewResolver(images.Options{Insecure: []string{host}, Keychain: authn.NewMultiKeychain(), Platforms: []string{"linux/amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	ctx, cancel := context.WithCancel(t.Context())
	ev := &cancellingEvaluator{Evaluator: p.Engine, cancel: cancel}
	checker := NewChecker(CheckerOptions{Resolver: r, Lineage: p.Catalog, Evaluator: ev})
	w := &workload.Workload{Kind: "Pod", Name: "pod", Namespace: "shop"}
	for _, name := range []string{"a", "b", "c"} {
		w.Containers = append(w.Containers, workload.Container{Name: name, Type: workload.TypeContainer, Image: host + "/shop/app:1"})
	}
	vs := checker.Check(ctx, policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	var left []policy.Violation
	for _, v := range vs {
		if v.Container != "a" {
			left = append(left, v)
		}
	}
	const want = "the request's deadline ended before 2 of its containers were evaluated"
	if len(left) != 1 || left[0].Container != "b" || left[0].Policy != "image-resolution" || !strings.Contains(left[0].Msg, want) || !strings.Contains(left[0].Msg, "was not checked") {
		t.Errorf("Check(3 containers, the deadline ending after the first) = %+v beside container a's; want one image-resolution violation on b saying %q", left, want)
	}
	// The limit violation itself is evaluated (it is an input like any
	// other); no container after the deadline is.
	if ev.evaluated[0] != "a" || len(ev.evaluated) != 2 || ev.evaluated[1] != "b" {
		t.Errorf("containers evaluated = %v, want a, then b's one limit violation", ev.evaluated)
	}
}
