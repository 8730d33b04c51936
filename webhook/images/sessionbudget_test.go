package images

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/internal/memtest"
)

// A registry (untrusted) handed out 60 KiB bearer tokens. Each registry
// session (one per repository and scope) keeps its token in its transport,
// but was costed at a flat sessionCost (4 KiB) + key: 400 repositories left
// the heap 18 MiB larger under an 8 MiB budget.
func TestHugeBearerTokensCannotHoldSessionsPastTheirBudget(t *testing.T) {
	reg := newTestRegistry(t)
	floodSessions(t, reg, strings.Repeat("A", 60<<10), fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, reg.host))
}

// The same through the challenge: a 128 KiB service parameter in the
// registry's WWW-Authenticate header is kept by every session's bearer
// transport (and sent back in every token request); it was costed at 4 KiB
// and 400 repositories left the heap 38 MiB larger.
func TestHugeChallengesCannotHoldSessionsPastTheirBudget(t *testing.T) {
	reg := newTestRegistry(t)
	floodSessions(t, reg, "t", fmt.Sprintf(`Bearer realm="http://%s/token",service="%s"`, reg.host, strings.Repeat("s", 128<<10)))
}

// floodSessions resolves 400 repositories at reg, which answers with
// challenge and hands out token, through a resolver of an 8 MiB budget,
// and requires the heap to grow by no more than the budget and the slack.
func floodSessions(t *testing.T, reg *testRegistry, token, challenge string) {
	t.Helper()
	const budget = 8 << 20
	setFault(reg, func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if req.URL.Path == "/token" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, token)
			return
		}
		if !strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	})
	r := newTestResolver(t, reg, Options{CacheBytes: budget, NotFoundTTL: time.Hour})
	ctx := testContext(t, 5*time.Minute)
	const repos = 400
	what := fmt.Sprintf("%d repositories whose registry sends a %d-byte token and a %d-byte challenge", repos, len(token), len(challenge))
	memtest.HeldWithin(t, memtest.Bound{What: what, Budget: budget, Slack: retainedSlack}, func() {
		for i := range repos {
			_, _ = r.Resolve(ctx, reg.ref(fmt.Sprintf("flood/app-%d:1", i)), Access{})
		}
		reg.takeRequests()
	}, r)
	t.Logf("sessions cache: %d entries, %d bytes costed", r.sessions.Len(), r.sessions.Bytes())
}
