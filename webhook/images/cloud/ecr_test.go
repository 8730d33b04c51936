package cloud

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/test/cloudtest"
	"github.com/strata-project/strata/webhook/images"
)

const ecrHost = cloudtest.ECRHost

func TestECRPrivateImageResolvesWithTheHelpersToken(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	reg.push(t, "team/app:1")
	ecr := cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)

	img, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{})
	if err != nil {
		t.Fatalf("resolving a private ECR image with the ecr helper: %v", err)
	}
	if img.Digest.String() == "" || ecr.Calls.Load() != 1 {
		t.Errorf("digest %q after %d token requests, want a digest after 1", img.Digest, ecr.Calls.Load())
	}
}

func TestECRRefusalNamesTheIdentityAndIsNotAskedAgainFor30Seconds(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	reg.push(t, "team/app:1")
	clock := testutil.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	ecr := cloudtest.ECR(t, "ecr-token", clock.Now, 12*time.Hour)
	ecr.Refuse.Store(true)
	r := resolver(t, reg, images.Options{Now: clock.Now, Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)

	_, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{})
	for _, want := range []string{"ECR refused strata's identity for " + ecrHost, "check the IAM role of strata's service account", "AccessDeniedException"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an error saying %q", err, want)
		}
	}
	for range 20 {
		clock.Advance(time.Second)
		if _, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{}); err == nil {
			t.Fatal("resolved with a refused identity")
		}
	}
	if n := ecr.Calls.Load(); n != 1 {
		t.Fatalf("a refused identity was asked %d times within 30s, want once", n)
	}
	clock.Advance(11 * time.Second)
	ecr.Refuse.Store(false)
	if _, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{}); err != nil {
		t.Fatalf("after 31s and a fixed identity: %v", err)
	}
	if n := ecr.Calls.Load(); n != 2 {
		t.Errorf("%d token requests, want 2: the failure forgotten after 30s", n)
	}
}

func TestThousandAdmissionsOfFiftyECRImagesCostOneTokenUntilExpiry(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	var refs []string
	for i := range 50 {
		reg.push(t, fmt.Sprintf("team/app%d:1", i))
		refs = append(refs, fmt.Sprintf("%s/team/app%d:1", ecrHost, i))
	}
	clock := testutil.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	ecr := cloudtest.ECR(t, "ecr-token", clock.Now, 12*time.Hour)
	r := resolver(t, reg, images.Options{Now: clock.Now, Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)

	admit := func() {
		// One admission resolves its 50 images at once, as the checker does.
		var wg sync.WaitGroup
		for _, ref := range refs {
			wg.Go(func() {
				if _, err := r.Resolve(testContext(t, 30*time.Second), ref, images.Access{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for range 1000 {
		admit()
	}
	if n := ecr.Calls.Load(); n != 1 {
		t.Fatalf("1,000 admissions of 50 images on one ECR host made %d token requests, want 1", n)
	}
	// Past the token's 12 hours every cache has expired: the next
	// admissions re-check the tags with new sessions, and one refresh
	// serves them all.
	clock.Advance(12 * time.Hour)
	for range 1000 {
		admit()
	}
	if n := ecr.Calls.Load(); n != 2 {
		t.Errorf("after expiry, %d token requests in all, want 2 (one refresh)", n)
	}
	// strata_registry_credentials_total says the same.
	for _, c := range r.CloudCredentialCounts() {
		if c.Provider == "ecr" && c.Result == "issued" && c.N != 2 {
			t.Errorf("strata_registry_credentials_total{provider=ecr,result=issued} = %d, want 2", c.N)
		}
		if c.Provider != "ecr" || c.Result != "issued" && c.Result != "cached" {
			t.Errorf("unexpected credential lookups %+v", c)
		}
	}
}

func TestHangingECRTokenAPIAnswersWithinTheBudgetAsATimeout(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	reg.push(t, "team/app:1")
	ecr := cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
	ecr.Hang.Store(true)
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)

	budget := 2 * time.Second
	start := time.Now()
	_, err := r.Resolve(testContext(t, budget), ecrHost+"/team/app:1", images.Access{})
	took := time.Since(start)
	if images.KindOf(err) != images.KindTimeout {
		t.Fatalf("got %v (kind %q), want a timeout", err, images.KindOf(err))
	}
	if want := "ECR did not give strata credentials for " + ecrHost + " within the resolution budget"; !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to say %q", err, want)
	}
	// Generous: the behaviour under test is the deadline.
	if took > budget+3*time.Second {
		t.Errorf("answered after %s, past the %s budget", took, budget)
	}
	if ecr.Calls.Load() == 0 {
		t.Error("the hanging token API was never asked")
	}
}
