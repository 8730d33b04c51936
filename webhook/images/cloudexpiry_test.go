package images

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-project/strata/internal/testutil"
)

// scriptedProvider is a cloud helper whose token API answers what the test
// says next: a token with its lifetime (0: the API gives no expiry), or an
// error. It counts the calls.
type scriptedProvider struct {
	now func() time.Time

	mu       sync.Mutex
	calls    int
	lifetime time.Duration
	err      error
}

func (p *scriptedProvider) Name() string          { return "scripted" }
func (p *scriptedProvider) Owns(host string) bool { return host == scriptedHost }

func (p *scriptedProvider) Credentials(context.Context, CloudRequest) (authn.AuthConfig, time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.err != nil {
		return authn.AuthConfig{}, time.Time{}, p.err
	}
	var expires time.Time
	if p.lifetime > 0 {
		expires = p.now().Add(p.lifetime)
	}
	return authn.AuthConfig{Username: "_token", Password: "token-" + string(rune('a'+p.calls))}, expires, nil
}

func (p *scriptedProvider) set(lifetime time.Duration, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lifetime, p.err = lifetime, err
}

func (p *scriptedProvider) called() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// docs/registries.md: a cloud token is cached until 5 minutes before it
// expires, at most half its lifetime early, 10 minutes when the token API
// gives no expiry; a failure is remembered for 30 seconds; a refresh that
// fails while the old token still holds keeps the old token.
func TestCloudTokensAreRefreshedFiveMinutesEarlyAtMostHalfTheirLifetime(t *testing.T) {
	for _, tc := range []struct {
		name          string
		lifetime      time.Duration
		stillCachedAt time.Duration // the last moment the token is served from the cache
	}{
		{"12h token", 12 * time.Hour, 12*time.Hour - 5*time.Minute - time.Second},
		{"4m token: half its lifetime early", 4 * time.Minute, 2*time.Minute - time.Second},
		{"no expiry given: 10m", 0, 5*time.Minute - time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock, p, get := scriptedCloud(t, tc.lifetime)
			first, err := get()
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(tc.stillCachedAt)
			if got, err := get(); err != nil || got != first || p.called() != 1 {
				t.Fatalf("credentials %v after the token was issued = %v, %v, %d token requests; want the cached token, 1 request", tc.stillCachedAt, got, err, p.called())
			}
			clock.Advance(time.Second)
			if got, err := get(); err != nil || got == first || p.called() != 2 {
				t.Errorf("credentials %v after the token was issued = %v, %v, %d token requests; want a new token, 2 requests", tc.stillCachedAt+time.Second, got, err, p.called())
			}
		})
	}

	t.Run("a failed refresh keeps the old token while it holds; a failure is remembered 30s", func(t *testing.T) {
		clock, p, get := scriptedCloud(t, time.Hour)
		old, err := get()
		if err != nil {
			t.Fatal(err)
		}
		p.set(time.Hour, errors.New("token API down"))
		clock.Advance(56 * time.Minute) // past the refresh point, before expiry
		if got, err := get(); err != nil || got != old || p.called() != 2 {
			t.Errorf("credentials after a failed refresh = %v, %v, %d requests; want the old token, 2 requests", got, err, p.called())
		}
		clock.Advance(5 * time.Minute) // the old token has expired
		if _, err := get(); err == nil || p.called() != 3 {
			t.Fatalf("credentials after expiry with the token API down = %v, %d requests; want an error, 3 requests", err, p.called())
		}
		clock.Advance(30*time.Second - time.Millisecond)
		if _, err := get(); err == nil || p.called() != 3 {
			t.Errorf("credentials within 30s of a failure = %v, %d requests; want the remembered error, no new request", err, p.called())
		}
		p.set(time.Hour, nil)
		clock.Advance(time.Millisecond)
		if _, err := get(); err != nil || p.called() != 4 {
			t.Errorf("credentials 30s after a failure = %v, %d requests; want a new token, 4 requests", err, p.called())
		}
	})
}

// scriptedCloud is a Resolver on a fake clock whose one cloud helper issues
// tokens of lifetime, and get, which asks its keychain for the helper's
// registry host's credentials.
func scriptedCloud(t *testing.T, lifetime time.Duration) (*testutil.Clock, *scriptedProvider, func() (authn.AuthConfig, error)) {
	t.Helper()
	clock, p, k := scriptedKeychain(t, lifetime)
	return clock, p, func() (authn.AuthConfig, error) { return k.credentials(t.Context(), p, scriptedHost) }
}

// scriptedHost is the host scriptedProvider owns.
const scriptedHost = "registry.cloud.example"

// scriptedKeychain is the cloud keychain of a resolver whose one helper is
// a scriptedProvider issuing tokens of lifetime, on a test clock.
func scriptedKeychain(t *testing.T, lifetime time.Duration) (*testutil.Clock, *scriptedProvider, *cloudKeychain) {
	t.Helper()
	clock := testutil.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	p := &scriptedProvider{now: clock.Now, lifetime: lifetime}
	r, err := NewResolver(Options{Now: clock.Now, Keychain: authn.NewMultiKeychain(), Cloud: CloudOptions{Providers: []CloudProvider{p}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return clock, p, r.cloud
}

// The race a thousand concurrent admissions found once in CI
// (TestThousandAdmissionsOfFiftyECRImagesCostOneTokenUntilExpiry made a
// third token request): a caller finds the token due for refresh, another
// caller's refresh runs and ends, and only then does the first start its
// call. That call presents the refreshed token; it does not ask again.
func TestACallLateForARefreshThatEndedPresentsItsToken(t *testing.T) {
	t.Parallel()
	clock, p, k := scriptedKeychain(t, time.Hour)
	if _, err := k.credentials(t.Context(), p, scriptedHost); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour) // due, and expired
	refreshed, err := k.credentials(t.Context(), p, scriptedHost)
	if err != nil || p.called() != 2 {
		t.Fatalf("the refresh = %v, %d token requests; want a token, 2 requests", err, p.called())
	}
	late, err := k.refresh(t.Context(), p, scriptedHost, p.Name()+"\x00"+scriptedHost)
	if err != nil || late != refreshed || p.called() != 2 {
		t.Errorf("the late call = %v, %v, %d token requests; want the refreshed token %v, still 2 requests", late, err, p.called(), refreshed)
	}
}
