package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/logtest"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// docs/images.md: failed resolutions are logged once per cause (kind and
// registry), with how many images it hit and one of their messages, not
// once per container.
func TestFailedResolutionsAreLoggedOncePerCause(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	var logs logtest.Buffer
	c := NewChecker(CheckerOptions{Resolver: p.Resolver, Lineage: p.Catalog, Evaluator: p.Engine, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	w := &workload.Workload{Kind: "Pod", Name: "many-missing", Namespace: "shop"}
	for i := range 5 {
		w.Containers = append(w.Containers, workload.Container{Name: fmt.Sprintf("missing-%d", i), Type: workload.TypeContainer, Image: p.Demo.Ref(fmt.Sprintf("shop/missing-%d:1.0", i))})
	}
	for i := range 3 {
		w.Containers = append(w.Containers, workload.Container{Name: fmt.Sprintf("invalid-%d", i), Type: workload.TypeContainer, Image: fmt.Sprintf("shop/web@sha512:%d", i)})
	}
	c.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)

	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil || l["msg"] != "images not resolved" {
			continue
		}
		key := fmt.Sprint(l["kind"], " ", l["registry"])
		if _, twice := got[key]; twice || l["example"] == "" {
			t.Errorf("cause %s logged twice, or without an example: %s", key, line)
		}
		got[key], _ = l["images"].(float64)
	}
	want := map[string]float64{"not-found " + p.Demo.Host: 5, "invalid-reference ": 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("images not resolved lines (kind registry → images) = %v, want %v\nlog:\n%s", got, want, logs.String())
	}
}

// refusedCredentials answers every read of pull secrets as an API server
// does without the RBAC to read them.
type refusedCredentials struct{}

func (refusedCredentials) Access(_ context.Context, namespace, serviceAccount string, _ []string) (images.Access, error) {
	return images.Access{}, fmt.Errorf("reading image pull secrets of namespace %s (service account %s): serviceaccounts %q is forbidden", namespace, serviceAccount, serviceAccount)
}

// A refused read of pull secrets leaves every image of the workload
// unresolved; it is logged, once per workload, so that an audit run
// without the RBAC says so on its standard error, not only in its reports.
func TestRefusedPullSecretsAreLogged(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	var logs logtest.Buffer
	c := NewChecker(CheckerOptions{Resolver: p.Resolver, Lineage: p.Catalog, Evaluator: p.Engine, Credentials: refusedCredentials{},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	w := &workload.Workload{Kind: "Pod", Name: "web", Namespace: "shop", ServiceAccountName: "default", Containers: []workload.Container{
		{Name: "web", Type: workload.TypeContainer, Image: p.Demo.Ref("shop/web:1.0")},
		{Name: "admin", Type: workload.TypeContainer, Image: p.Demo.Ref("shop/admin:1.0")},
	}}
	vs := c.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Audit}, w)
	if len(vs) != 2 || vs[0].Policy != "image-resolution" || vs[1].Policy != "image-resolution" {
		t.Errorf("Check() = %+v, want the two images unresolved", vs)
	}
	var warned int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err == nil && l["msg"] == "pull secrets not read" {
			warned++
			if l["namespace"] != "shop" || l["images"] != float64(2) || !strings.Contains(fmt.Sprint(l["error"]), "forbidden") {
				t.Errorf("the warning %s, want namespace shop, 2 images and the API server's refusal", line)
			}
		}
	}
	if warned != 1 {
		t.Errorf("%d warnings \"pull secrets not read\", want 1; log:\n%s", warned, logs.String())
	}
}
