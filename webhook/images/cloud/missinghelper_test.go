package cloud

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/test/cloudtest"
	"github.com/strata-project/strata/webhook/images"
)

// A private image on a cloud registry whose helper is off is refused as
// unauthorized, with an error that names the helper to enable, and the
// cloud's token service is never asked.
func TestCloudImageWithoutTheHelperNamesTheMissingHelper(t *testing.T) {
	for _, tc := range []struct {
		name, helper, host, repoTag string
		// registry pushes repoTag to a registry that answers only to the
		// cloud's token, and starts the stand-in of its token service.
		registry func(t *testing.T) (*privateRegistry, *cloudtest.StandIn)
		service  string
	}{
		{"ECRImageWithoutTheHelperNamesTheMissingHelper", "ecr", ecrHost, "team/app:1", func(t *testing.T) (*privateRegistry, *cloudtest.StandIn) {
			reg := newPrivateRegistry(t, "AWS", "ecr-token")
			reg.push(t, "team/app:1")
			return reg, cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
		}, "ECR's token API"},
		{"GoogleImageWithoutTheHelperNamesTheMissingHelper", "google", garHost, "proj/repo/app:1", garImage, "the metadata server"},
		{"AzureImageWithoutTheHelperNamesTheMissingHelper", "azure", acrHost, "team/app:1", func(t *testing.T) (*privateRegistry, *cloudtest.StandIn) {
			reg := newPrivateRegistry(t, acrUser, "acr-refresh-token")
			reg.push(t, "team/app:1")
			entra, _ := entraStandIn(t, "entra-access-token")
			return reg, entra
		}, "Entra ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, service := tc.registry(t)
			r := resolver(t, reg, images.Options{}, tc.host)

			_, err := r.Resolve(testContext(t, 30*time.Second), tc.host+"/"+tc.repoTag, images.Access{})
			want := "no credentials for " + tc.host + ": the " + tc.helper + " helper is not enabled (registry.credentials)"
			if images.KindOf(err) != images.KindUnauthorized || err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want an unauthorized error saying %q", err, want)
			}
			if n := service.Calls.Load(); n != 0 {
				t.Errorf("%s was asked %d times with the helper off", tc.service, n)
			}
		})
	}
}
