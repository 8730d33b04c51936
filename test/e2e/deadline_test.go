//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangingListener accepts TCP connections and never answers on them: a
// registry stuck behind a load balancer. It counts the connections made.
func hangingListener(t *testing.T) (addr string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int64)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), accepted
}

// podWithImages is a Pod whose n containers each run a distinct image of host.
func podWithImages(name, host string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n", name)
	for i := range n {
		fmt.Fprintf(&b, "  - name: c%d\n    image: %s/app%d:1\n", i, host, i)
	}
	return b.String()
}

// The attack: one Pod with 4,000 distinct images at a registry that hangs.
// It was answered after 7.2s on a 5s request (37k goroutines, ~7,900
// registry connections). Through the API server, in every mode, the answer
// is strata's own and comes within the webhook's 5s timeout: the pod is past
// the bound on containers × platforms, which is one image-resolution
// violation, and the hanging registry is never contacted.
func TestPodWithThousandsOfImagesAnsweredInTime(t *testing.T) {
	showLogsOnFailure(t)
	addr, accepted := hangingListener(t)
	pod := podWithImages("thousands", addr, 4000)
	for _, tc := range []struct {
		ns    string
		check func(t *testing.T, out string, err error)
	}{
		{nsEnforce, func(t *testing.T, out string, err error) {
			mustDeny(t, "4000-image pod in enforce", out, err)
			mustContain(t, "4000-image pod in enforce", out, "[image-resolution]", "4000 containers", "past the bound of 1000")
			mustNotContain(t, "4000-image pod in enforce", out, "context deadline exceeded")
		}},
		{nsWarn, func(t *testing.T, out string, err error) {
			mustAllow(t, "4000-image pod in warn", out, err)
			mustContain(t, "4000-image pod in warn", out, "Warning:", "[image-resolution]", "past the bound of 1000")
		}},
		{nsAudit, func(t *testing.T, out string, err error) {
			mustAllow(t, "4000-image pod in audit", out, err)
			mustNotContain(t, "4000-image pod in audit", out, "Warning:")
		}},
	} {
		t.Run(tc.ns, func(t *testing.T) {
			// create, not apply: the last-applied annotation of 4,000
			// containers would pass the annotation size limit.
			start := time.Now()
			out, err := kubectl(t, pod, "create", "-n", tc.ns, "-f", "-")
			took := time.Since(start)
			tc.check(t, out, err)
			if took >= 5*time.Second {
				t.Errorf("kubectl create of a 4000-image pod in %s took %s, want < 5s (the webhook timeout)", tc.ns, took)
			}
			t.Logf("answered in %s", took.Round(time.Millisecond))
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("strata made %d connections to the hanging registry for a pod past the bound, want none", n)
	}
}

// The attack: re-point a tag to a root image and keep the registry from
// answering strata's re-check. strata went on deciding on the old digest for
// up to tagTTL + 1h. Here a second strata, with a 2s tag TTL, resolves a
// compliant tag; the registry is stopped; once the TTL has run out, enforce
// refuses the stale digest and says so, warn and audit use it and say so.
func TestStaleTagWithRegistryStoppedIsNotDecidedInEnforce(t *testing.T) {
	showLogsOnFailure(t)
	const ttl = 2 * time.Second
	config := strings.Replace(strataConfig(s), "  timeout: 3s\n", fmt.Sprintf("  timeout: 3s\n  tagTTL: %s\n", ttl), 1)
	if !strings.Contains(config, "tagTTL") {
		t.Fatalf("the suite's strata configuration has no registry.timeout line to add tagTTL after:\n%s", config)
	}
	stale, err := startStrataAs(t.Context(), s, s.strataBin, "strata-stale", config)
	if err != nil {
		t.Fatalf("starting a second strata with tagTTL %s: %v", ttl, err)
	}
	t.Cleanup(stale.Stop)

	for _, mode := range []string{"enforce", "warn", "audit"} {
		r := postReviewTo(t, stale.addr, "/validate/"+mode, nsEnforce, "fresh-"+mode, s.images.good)
		if !r.Allowed || len(r.Warnings) != 0 {
			t.Fatalf("review of %s on /validate/%s with the registry up = allowed %v, warnings %q, result %+v; want allowed without warnings", s.images.good, mode, r.Allowed, r.Warnings, r.Result)
		}
	}

	s.pub.Stop()
	t.Cleanup(func() {
		if err := s.pub.startAndWait(context.Background()); err != nil {
			t.Errorf("restarting the public registry: %v", err)
		}
	})
	time.Sleep(ttl + 500*time.Millisecond) // the tag TTL is what is under test

	r := postReviewTo(t, stale.addr, "/validate/enforce", nsEnforce, "stale-enforce", s.images.good)
	if r.Allowed {
		t.Fatalf("review of %s on /validate/enforce past its tag TTL with the registry stopped: allowed on the stale digest, want a denial", s.images.good)
	}
	msg := ""
	if r.Result != nil {
		msg = r.Result.Message
	}
	mustContain(t, "enforce with a stale tag", msg, "[image-resolution]", "refuses to decide in enforce mode", "stale digest")
	for _, mode := range []string{"warn", "audit"} {
		r := postReviewTo(t, stale.addr, "/validate/"+mode, nsEnforce, "stale-"+mode, s.images.good)
		if !r.Allowed {
			t.Errorf("review of %s on /validate/%s with a stale tag: denied (%+v), want allowed", s.images.good, mode, r.Result)
			continue
		}
		said := strings.Join(r.Warnings, "\n") + r.AuditAnnotations["violations"]
		mustContain(t, mode+" with a stale tag", said, "image-resolution", "stale digest")
	}
}
