package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// PolicyError is the id of the violation an evaluation failure becomes: it
// denies in enforce mode and never in warn or audit.
const PolicyError = "policy-error"

// networkBuiltins are removed from the capabilities, so a policy that calls
// them does not compile: all registry and network I/O happens in Go, before
// evaluation, within the request's budget.
var networkBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime"}

// Options configure an Engine; the zero value of each field is a default.
type Options struct {
	// Builtins are the built-in policies. nil loads none (for tests).
	Builtins fs.FS
	// Paths are the user's policy files or directories: .rego modules, and
	// .json/.yaml data files merged into data.strata.config.
	Paths []string
	// Data is data.strata.config (policies.data of strata.yaml).
	Data map[string]any
	// Actions override policies' default actions by id.
	Actions map[string]Action
	// EvalTimeout bounds one evaluation. Default: 1s.
	EvalTimeout time.Duration
	// MaxFileBytes bounds one user file, MaxTotalBytes all of them: a
	// larger file is an error at start and a failed reload afterwards.
	// Defaults: 8 MiB and 32 MiB.
	MaxFileBytes  int64
	MaxTotalBytes int64
	// ResultCacheBytes bounds the cache of evaluation results, by the
	// bytes its entries are estimated to hold (a digest of the input and
	// the violations). Default: DefaultResultCacheBytes.
	ResultCacheBytes int64
	Logger           *slog.Logger
}

// Violation is one finding of one policy.
type Violation struct {
	Policy    string `json:"policy"`
	Action    Action `json:"action"`
	Msg       string `json:"msg"`
	Container string `json:"container"`
	Platform  string `json:"platform,omitempty"`
}

// Engine evaluates the compiled policy set. It is safe for concurrent use;
// Reload swaps the set atomically and keeps the last good one on failure.
type Engine struct {
	opts     Options
	caps     *ast.Capabilities
	current  atomic.Pointer[compiled]
	reloadMu sync.Mutex

	statusMu sync.Mutex
	status   Status
	// attempted is the fingerprint of the user files of the last attempt,
	// seen their sizes, mtimes and inodes then.
	attempted [32]byte
	seen      []fileState
	// onRead, when set, is told of every user file read (tests).
	onRead func(path string)
}

// compiled is one immutable, prepared policy set, with the results it has
// computed: a reload starts a new set, and so a new cache.
type compiled struct {
	query    rego.PreparedEvalQuery
	policies map[string]Meta // by strata.policies child name
	// results is nil when some policy calls a non-deterministic built-in
	// (time.now_ns, rand.intn, uuid.rfc4122, ...): an equal input may then
	// have a different answer, and a cached one would freeze the first.
	results *resultCache
	// containerOnly is true when the policies read nothing of the input but
	// the container, its image and its lineage.
	containerOnly bool
	// dataKeys are the data.strata.config keys the policies read; anyKey
	// is set when one reads the whole object, so any key may matter.
	dataKeys []string
	anyKey   bool
	// notes say what of the user's modules would otherwise pass in silence.
	notes []string
}

// Status says how the last (re)load went, for logs, metrics and readiness.
type Status struct {
	Generation  int       // successful loads so far
	LoadedAt    time.Time // of the serving set
	LastError   error     // of the last attempt; nil when it succeeded
	LastAttempt time.Time
}

// New loads and compiles the policies. An error names the file and line.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.EvalTimeout <= 0 {
		opts.EvalTimeout = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxTotalBytes <= 0 {
		opts.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if opts.ResultCacheBytes <= 0 {
		opts.ResultCacheBytes = DefaultResultCacheBytes
	}
	e := &Engine{opts: opts, caps: restrictedCapabilities()}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func restrictedCapabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool {
		return slices.Contains(networkBuiltins, b.Name)
	})
	caps.AllowNet = []string{}
	return caps
}

// Reload reads and compiles the policies again. On failure the serving set
// is kept, the error is returned and recorded in Status.
func (e *Engine) Reload(ctx context.Context) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	// Stat before reading: a change during the read is seen next poll.
	seen := snapshot(e.opts.Paths)
	c, fingerprint, err := e.compile(ctx)
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	e.attempted = fingerprint
	e.seen = seen
	e.status.LastAttempt = time.Now()
	e.status.LastError = err
	if err != nil {
		return err
	}
	e.current.Store(c)
	e.status.Generation++
	e.status.LoadedAt = e.status.LastAttempt
	return nil
}

// The default bounds on the user's policy and data files.
const (
	DefaultMaxFileBytes  = 8 << 20
	DefaultMaxTotalBytes = 32 << 20
)

func (e *Engine) userFiles() files {
	return files{paths: e.opts.Paths, maxFile: e.opts.MaxFileBytes, maxTotal: e.opts.MaxTotalBytes, onRead: e.onRead}
}

// Status reports the last (re)load.
func (e *Engine) Status() Status {
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	return e.status
}

func (e *Engine) compile(ctx context.Context) (*compiled, [32]byte, error) {
	src, err := loadSources(e.opts.Builtins, e.userFiles())
	if err != nil {
		return nil, src.fingerprint, fmt.Errorf("loading policies: %w", err)
	}
	metas, err := metadata(src.modules)
	if err != nil {
		return nil, src.fingerprint, fmt.Errorf("loading policies: %w", err)
	}
	if err := applyActions(metas, e.opts.Actions); err != nil {
		return nil, src.fingerprint, err
	}
	data, err := mergeData(e.opts.Data, src.data)
	if err != nil {
		return nil, src.fingerprint, err
	}
	markInactive(metas, data)
	opts := []func(*rego.Rego){
		rego.Query("v := data.strata.policies[policy].violation[_]"),
		rego.Capabilities(e.caps),
		rego.StrictBuiltinErrors(true),
		rego.Store(inmem.NewFromObject(map[string]any{"strata": map[string]any{"config": data}})),
	}
	for _, m := range src.modules {
		opts = append(opts, rego.ParsedModule(m))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, src.fingerprint, fmt.Errorf("compiling policies: %w", err)
	}
	if err := configProblems(ctx, opts, metas); err != nil {
		return nil, src.fingerprint, err
	}
	refs, whole := inputRefs(src.modules)
	keys := inputKeys(refs, whole)
	c := &compiled{query: pq, policies: metas, containerOnly: readsOnlyContainerFacts(refs, whole), notes: moduleNotes(src.modules)}
	c.dataKeys, c.anyKey = dataKeys(src.modules)
	if calls := nondeterministicCalls(src.modules, e.caps); len(calls) > 0 {
		e.opts.Logger.Info("policy results are not cached: the policies call non-deterministic built-ins", "builtins", calls)
	} else {
		c.results = newResultCache(e.opts.ResultCacheBytes, keys)
	}
	return c, src.fingerprint, nil
}

// configProblems evaluates each policy's config_problems once, with no
// input: what a policy finds wrong with data.strata.config (a pattern that
// does not compile) is refused when the policies load, rather than checked
// again in every evaluation or left to fail each of them.
func configProblems(ctx context.Context, opts []func(*rego.Rego), metas map[string]Meta) error {
	opts = append(slices.Clone(opts), rego.Query("msg := data.strata.policies[policy].config_problems[_]"))
	rs, err := rego.New(opts...).Eval(ctx)
	if err != nil {
		return fmt.Errorf("checking policies.data: %w", err)
	}
	var problems []string
	for _, r := range rs {
		key, _ := r.Bindings["policy"].(string)
		problems = append(problems, fmt.Sprintf("policy %s: %v", metas[key].ID, r.Bindings["msg"]))
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return fmt.Errorf("policies.data: %s; fix the value in policies.data of strata.yaml, or in the .json/.yaml data file beside the policies", strings.Join(problems, "; "))
}

// applyActions sets configured actions over the defaults; an id that names
// no policy, or an action that is not one, is an error, so that a misspelt
// setting is neither ignored nor read as a milder action.
func applyActions(metas map[string]Meta, actions map[string]Action) error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(actions)) {
		act := actions[id]
		if _, err := ParseAction(string(act)); err != nil {
			errs = append(errs, fmt.Errorf("policies.actions of %q: %w", id, err))
			continue
		}
		if id == PolicyError {
			continue
		}
		found := false
		for key, m := range metas {
			if m.ID == id {
				m.Action = act
				metas[key] = m
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("policies.actions names %q, which is not a loaded policy", id))
		}
	}
	return errors.Join(errs...)
}

// DataKeys lists the data.strata.config keys the serving policies read,
// sorted; any is true when a policy reads the object whole, so that no key
// of policies.data can be called unread.
func (e *Engine) DataKeys() (keys []string, any bool) {
	c := e.current.Load()
	return c.dataKeys, c.anyKey
}

// Notes lists what of the user's policy files strata accepts but would
// otherwise say nothing about: a package it never evaluates, a policy
// without METADATA.
func (e *Engine) Notes() []string {
	return e.current.Load().notes
}

// Policies lists the loaded policies, sorted by id.
func (e *Engine) Policies() []Meta {
	c := e.current.Load()
	out := make([]Meta, 0, len(c.policies))
	for _, m := range c.policies {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Meta) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

// Evaluate runs every policy on one input (one container, one platform).
// It never fails: an evaluation error becomes a policy-error violation, so
// a broken policy cannot silently allow.
func (e *Engine) Evaluate(ctx context.Context, container, platform string, input Input) []Violation {
	c := e.current.Load()
	if c.results == nil {
		vs, _ := e.evaluate(ctx, c, container, platform, input)
		return vs
	}
	key := c.results.key(input)
	if vs, ok := c.results.get(key); ok {
		return withContainer(vs, container, platform)
	}
	vs, cacheable := e.evaluate(ctx, c, container, platform, input)
	if cacheable {
		c.results.put(key, vs)
	}
	return vs
}

// ReadsOnlyContainerFacts reports whether the serving policies read nothing
// of the input but the container, its image and its lineage (and the
// workload's kind, name and namespace, which an update cannot change). Then
// an update that changes no container cannot change the verdict, and need
// not be evaluated; a policy that reads the labels, the annotations or the
// request makes every update count.
func (e *Engine) ReadsOnlyContainerFacts() bool {
	return e.current.Load().containerOnly
}

// evaluate runs the query; its result is cacheable unless evaluation failed.
func (e *Engine) evaluate(ctx context.Context, c *compiled, container, platform string, input Input) ([]Violation, bool) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.EvalTimeout)
	defer cancel()
	rs, err := c.query.Eval(ctx, rego.EvalParsedInput(input.Value()))
	if err != nil {
		return []Violation{e.policyError(container, platform, err)}, false
	}
	out := make([]Violation, 0, len(rs))
	for _, r := range rs {
		key, _ := r.Bindings["policy"].(string)
		meta, ok := c.policies[key]
		if !ok || meta.Action == Off {
			continue
		}
		v, ok := r.Bindings["v"].(map[string]any)
		if !ok {
			return []Violation{e.policyError(container, platform, fmt.Errorf("policy %s yielded %v, not a {msg, container, platform} object", meta.ID, r.Bindings["v"]))}, false
		}
		msg, ok := v["msg"].(string)
		if !ok {
			// Dropping it would allow; an empty reason would deny without one.
			msg = fmt.Sprintf("policy %s found a violation but gave it no msg (a string): fix the policy's violation rule to say what is wrong", meta.ID)
		}
		out = append(out, Violation{Policy: meta.ID, Action: meta.Action, Msg: withholdBuildArgs(msg), Container: container, Platform: platform})
	}
	return out, true
}

// withContainer returns a copy of cached violations for this caller.
func withContainer(vs []Violation, container, platform string) []Violation {
	out := make([]Violation, len(vs))
	for i, v := range vs {
		v.Container, v.Platform = container, platform
		out[i] = v
	}
	return out
}

func (e *Engine) policyError(container, platform string, err error) Violation {
	action := Enforce
	if a, ok := e.opts.Actions[PolicyError]; ok {
		action = a
	}
	e.opts.Logger.Error("policy evaluation failed", "container", container, "platform", platform, "error", err)
	return Violation{
		Policy:    PolicyError,
		Action:    action,
		Msg:       fmt.Sprintf("the policies could not be evaluated for container %q: %v; fix the policy or report it", container, err),
		Container: container,
		Platform:  platform,
	}
}
