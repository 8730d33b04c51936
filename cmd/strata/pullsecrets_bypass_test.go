package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images"
)

// serve reads pods' pull secrets with one client-go client, built with
// client-go's default client-side rate limit: 5 requests per second, bursts
// of 10, for the whole webhook. A tenant's pod may name up to 63 pull
// secrets that do not exist (each a GET, nothing cached while the list
// changes), so twenty pods of one namespace queue hundreds of reads in front
// of every other namespace's. The victim's admission waits past its budget
// for its two reads (service account, secret), and its image becomes an
// image-resolution violation: denied in enforce, a namespace that did
// nothing, by a tenant of another.
func TestOneNamespacesPullSecretListsCannotStarveAnothersReads(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
	}))
	t.Cleanup(api.Close)
	kubeconfig := testutil.WriteFile(t, t.TempDir(), "kubeconfig", `apiVersion: v1
kind: Config
current-context: a
clusters:
- {name: a, cluster: {server: "`+api.URL+`"}}
users:
- {name: u, user: {token: not-a-secret}}
contexts:
- {name: a, context: {cluster: a, user: u}}
`)
	k := newKubeFlags()
	k.loading.ExplicitPath = kubeconfig
	creds, err := pullSecrets(k, 0, slog.New(slog.DiscardHandler))
	if err != nil || creds == nil {
		t.Fatalf("pullSecrets() = %v, %v", creds, err)
	}

	// The chart's registry budget is 4 s per admission.
	const budget = 4 * time.Second
	attack, stop := context.WithTimeout(t.Context(), budget)
	defer stop()
	var wg sync.WaitGroup
	for pod := range 20 {
		names := make([]string, 63)
		for i := range names {
			names[i] = fmt.Sprintf("missing-%d-%d", pod, i)
		}
		wg.Go(func() { _, _ = creds.Access(attack, "attacker", "default", names) })
	}
	time.Sleep(50 * time.Millisecond) // the attacker's pods arrive first

	victim, cancel := context.WithTimeout(t.Context(), budget)
	defer cancel()
	// Its own budget is the bound: a read still queued behind the
	// attacker's when it ends is an error (no timing is asserted here).
	if _, err = creds.Access(victim, "victim", "default", []string{"regcred"}); err != nil {
		t.Errorf("Access(victim, [regcred]) while another namespace's 20 pods name 63 missing pull secrets each = %v; want its 2 reads answered within its %v budget", err, budget)
	}
	wg.Wait()
}

// docs/security.md states serve's rate for pull-secret reads over all
// namespaces, ten namespaces' worth of PullSecrets' own bound.
func TestSecurityDocStatesThePullSecretRates(t *testing.T) {
	t.Parallel()
	doc := strings.Join(strings.Fields(string(testutil.ReadFile(t, "../../docs/security.md"))), " ")
	if want := fmt.Sprintf("under serve's %d per second for all", pullSecretsQPS); !strings.Contains(doc, want) || pullSecretsQPS != 10*images.DefaultNamespaceRate {
		t.Errorf("docs/security.md does not say %q, or %d is not ten namespaces at %d per second", want, pullSecretsQPS, images.DefaultNamespaceRate)
	}
}
