package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/strata-project/strata/test/cloudtest"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// registry.credentials names helpers strata has, each once; a typo is
// refused at load rather than silently reading nothing.
func TestRegistryCredentialsNamesKnownHelpersOnce(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Registry.Credentials = []string{"ecr", "gcr", "ecr"}
	err := cfg.Validate()
	for _, want := range []string{`registry.credentials: unknown helper "gcr": want one of ecr, google, azure`, `registry.credentials: "ecr" is listed twice`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to say %s", err, want)
		}
	}
	cfg.Registry.Credentials = []string{"ecr", "google", "azure"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() with every helper = %v", err)
	}
}

// strata serve exports strata_registry_credentials_total from the
// pipeline's resolver.
func TestCredentialsMetricIsRegistered(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Registry.Credentials = []string{"ecr"}
	p, err := NewPipeline(t.Context(), cfg, PipelineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCredentialsCollector(p.Resolver)); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "strata_registry_credentials_total"); err != nil || n != 0 {
		t.Errorf("before any lookup: %d series, %v; want none", n, err)
	}
}

// ecrPipeline is a pipeline whose resolver reaches cloudtest.ECRHost at a
// registry that answers only to user AWS and password, through the host
// mapping the demo uses, with the ecr helper on or off.
func ecrPipeline(t *testing.T, password string, helpers []string) *Pipeline {
	t.Helper()
	addr := imagetest.BasicAuthRegistry(t, "AWS", password)
	imagetest.Push(t, addr+"/team/app:1", imagetest.Image(t, 1, nil), remote.WithAuth(&authn.Basic{Username: "AWS", Password: password}))
	cfg := DefaultConfig()
	cfg.Registry.Timeout = Duration{Duration: 2 * time.Second}
	cfg.Registry.Credentials = helpers
	cfg.Registry.Insecure = []string{cloudtest.ECRHost}
	cfg.Registry.Hosts = map[string]string{cloudtest.ECRHost: addr}
	p, err := NewPipeline(t.Context(), cfg, PipelineOptions{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func checkECRPod(t *testing.T, p *Pipeline) []policy.Violation {
	t.Helper()
	w := &workload.Workload{Kind: "Pod", Name: "app", Namespace: "shop",
		Containers: []workload.Container{{Name: "app", Type: "container", Image: cloudtest.ECRHost + "/team/app:1"}}}
	return p.Checker.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
}

// Without registry.credentials a private ECR image is denied in enforce as
// image-resolution, and the decision names the helper to enable.
func TestECRImageWithoutTheHelperIsDeniedNamingTheHelper(t *testing.T) {
	ecr := cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
	p := ecrPipeline(t, "ecr-token", nil)
	vs := checkECRPod(t, p)
	want := "no credentials for " + cloudtest.ECRHost + ": the ecr helper is not enabled (registry.credentials)"
	if len(vs) != 1 || vs[0].Policy != "image-resolution" || !strings.Contains(vs[0].Msg, want) {
		t.Fatalf("Check(ECR image, no helper) = %+v, want one image-resolution violation saying %q", vs, want)
	}
	if Decide(policy.Enforce, vs).Allowed {
		t.Error("enforce allowed an image strata could not read")
	}
	if n := ecr.Calls.Load(); n != 0 {
		t.Errorf("ECR's token API called %d times with the helper off", n)
	}
}

// With the helper on the same pod is read with strata's IRSA identity: no
// image-resolution violation.
func TestECRImageWithTheHelperIsRead(t *testing.T) {
	ecr := cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
	p := ecrPipeline(t, "ecr-token", []string{"ecr"})
	for _, v := range checkECRPod(t, p) {
		if v.Policy == "image-resolution" {
			t.Fatalf("Check(ECR image, ecr helper) = image-resolution violation %q", v.Msg)
		}
	}
	if n := ecr.Calls.Load(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// A token API that hangs costs the admission its registry budget, no more,
// and the decision is image-resolution naming ECR.
func TestHangingECRTokenAPIIsAnImageResolutionViolationWithinTheBudget(t *testing.T) {
	ecr := cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
	ecr.Hang.Store(true)
	p := ecrPipeline(t, "ecr-token", []string{"ecr"})
	start := time.Now()
	vs := checkECRPod(t, p)
	took := time.Since(start)
	want := "ECR did not give strata credentials for " + cloudtest.ECRHost + " within the resolution budget"
	if len(vs) != 1 || vs[0].Policy != "image-resolution" || !strings.Contains(vs[0].Msg, want) {
		t.Fatalf("Check(ECR image, hanging token API) = %+v, want one image-resolution violation saying %q", vs, want)
	}
	// Generous: the behaviour under test is the deadline (2s budget).
	if took > 5*time.Second {
		t.Errorf("Check answered after %s, past the 2s registry budget", took)
	}
	if Decide(policy.Enforce, vs).Allowed {
		t.Error("enforce allowed an image strata could not read")
	}
}
