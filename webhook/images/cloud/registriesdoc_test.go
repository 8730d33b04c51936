package cloud

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/test/cloudtest"
	"github.com/strata-project/strata/webhook/images"
)

// docs/registries.md: the ecr helper calls ecr:GetAuthorizationToken in the
// host's region and names no registry: the token opens every registry the
// identity may read, and AWS deprecated registryIds for that reason. The
// request the stand-in receives is signed for the region the host names.
func TestECRTokenIsAskedInTheHostsRegion(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	reg.push(t, "team/app:1")
	ecr := cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)
	if _, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{}); err != nil {
		t.Fatal(err)
	}
	// ecrHost is 123456789012.dkr.ecr.eu-west-1.amazonaws.com.
	got := ecr.LastTokenRequest()
	if !strings.Contains(got, "/eu-west-1/ecr/aws4_request") || strings.Contains(got, "registryIds") {
		t.Errorf("the token request for %s = %q, want it signed for eu-west-1 and ecr, naming no registry", ecrHost, got)
	}
}
