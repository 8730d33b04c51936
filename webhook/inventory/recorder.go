package inventory

import (
	"container/list"
	"sync"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// RecorderOptions bound what a Recorder keeps.
type RecorderOptions struct {
	// MaxWorkloads is how many workloads it keeps, the most recently
	// reviewed; an older one is forgotten first. Default: 5,000.
	MaxWorkloads int
	// MaxContainers bounds the containers kept over all workloads, so that
	// a few workloads of a thousand containers each cannot hold the memory
	// of a cluster: past it the oldest workloads are forgotten. Default:
	// 50,000.
	MaxContainers int
}

// Recorder keeps the workloads the webhook evaluated recently and what each
// check saw, for `strata serve --graph`: an inventory of what strata has
// seen. A workload is one entry by namespace, kind and name, replaced when
// it is reviewed again. It is safe for concurrent use.
type Recorder struct {
	opts RecorderOptions

	mu         sync.Mutex
	order      *list.List // of *recorded, the oldest at the front
	byKey      map[string]*list.Element
	containers int
}

// recorded is one workload as its last review saw it.
type recorded struct {
	key      string
	workload Workload
	examined []webhook.Examined
}

// NewRecorder returns an empty Recorder.
func NewRecorder(opts RecorderOptions) *Recorder {
	if opts.MaxWorkloads <= 0 {
		opts.MaxWorkloads = 5000
	}
	if opts.MaxContainers <= 0 {
		opts.MaxContainers = 50000
	}
	return &Recorder{opts: opts, order: list.New(), byKey: map[string]*list.Element{}}
}

// Record keeps what one review of w saw, decided in mode; it replaces what
// an earlier review of the same workload saw. It implements
// webhook.Recorder.
func (r *Recorder) Record(mode policy.Action, w *workload.Workload, ex webhook.Examination) {
	d := webhook.Decide(mode, ex.Violations)
	rec := &recorded{
		key:      w.Namespace + "/" + w.Kind + "/" + w.Name,
		workload: Workload{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, Allowed: d.Allowed, Violations: d.Violations},
		examined: ex.Containers,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byKey[rec.key]; ok {
		r.containers -= len(e.Value.(*recorded).examined)
		r.order.Remove(e)
	}
	r.byKey[rec.key] = r.order.PushBack(rec)
	r.containers += len(rec.examined)
	for r.order.Len() > r.opts.MaxWorkloads || (r.containers > r.opts.MaxContainers && r.order.Len() > 1) {
		oldest := r.order.Remove(r.order.Front()).(*recorded)
		delete(r.byKey, oldest.key)
		r.containers -= len(oldest.examined)
	}
}

// Len is how many workloads it keeps.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}

// Inventory is what the recorded reviews saw, deduplicated as Build does.
// Each workload was decided in the mode of the path that reviewed it last,
// so Mode is empty. Workloads are in the order they were last reviewed.
func (r *Recorder) Inventory() *Inventory {
	r.mu.Lock()
	inv := &Inventory{Workloads: make([]Workload, 0, r.order.Len())}
	examined := make([][]webhook.Examined, 0, r.order.Len())
	for e := r.order.Front(); e != nil; e = e.Next() {
		rec := e.Value.(*recorded)
		inv.Workloads = append(inv.Workloads, rec.workload)
		examined = append(examined, rec.examined)
	}
	r.mu.Unlock()
	inv.collect(examined)
	return inv
}
