package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/manifest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// inputRecorder is an Evaluator that keeps each policy input instead of
// evaluating it: inspect -o input prints exactly what the policies would
// be given.
type inputRecorder struct {
	mu     sync.Mutex
	inputs []json.RawMessage
}

func (r *inputRecorder) Evaluate(_ context.Context, _, _ string, input policy.Input) []policy.Violation {
	raw, err := ast.JSON(input.Value())
	if err == nil {
		var b []byte
		if b, err = json.Marshal(raw); err == nil {
			r.mu.Lock()
			r.inputs = append(r.inputs, b)
			r.mu.Unlock()
		}
	}
	return nil
}

// writePolicyInputs prints, as one JSON array, the policy input of every
// container × platform of the pod in podFile (its first pod-bearing
// object), or of a one-container Pod running image: what a Rego test
// fixture is written from.
func writePolicyInputs(ctx context.Context, p *webhook.Pipeline, image, podFile string, stdout io.Writer) error {
	w := &workload.Workload{Kind: "Pod", Name: "inspect", Namespace: manifest.DefaultNamespace,
		Containers: []workload.Container{{Name: "app", Type: workload.TypeContainer, Image: image}}}
	if podFile != "" {
		ms, _, err := manifest.Read([]string{podFile}, nil, manifest.Limits{FileBytes: manifest.DefaultFileBytes, TotalBytes: manifest.DefaultTotalBytes})
		if err != nil {
			return readAdvice(err)
		}
		if len(ms) == 0 {
			return fmt.Errorf("%s holds no pod-bearing object: give a Pod, Deployment, Job, ... manifest", podFile)
		}
		w = ms[0].Workload
	}
	rec := &inputRecorder{}
	checker := webhook.NewChecker(webhook.CheckerOptions{Resolver: p.Resolver, Lineage: p.Catalog, Evaluator: rec, ResolveBudget: p.Config.Registry.Timeout.Duration})
	checker.Check(ctx, policy.Request{Operation: "CREATE", Namespace: w.Namespace, Mode: policy.Action(p.Config.Mode)}, w)
	out, err := json.MarshalIndent(rec.inputs, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}
