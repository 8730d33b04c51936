package cloud

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/test/cloudtest"
	"github.com/strata-project/strata/webhook/images"
)

const garHost = cloudtest.GARHost

// garImage pushes proj/repo/app:1 to a registry that answers only to the
// token GKE's metadata server hands out, and starts that metadata server.
func garImage(t *testing.T) (*privateRegistry, *cloudtest.StandIn) {
	t.Helper()
	reg := newPrivateRegistry(t, "_token", "gke-access-token")
	reg.push(t, "proj/repo/app:1")
	return reg, cloudtest.Metadata(t, "gke-access-token")
}

// withGoogle is the resolver's options with the google helper on.
func withGoogle() images.Options {
	return images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewGoogle(Options{})}}}
}

func TestGooglePrivateImageResolvesWithTheHelpersToken(t *testing.T) {
	reg, md := garImage(t)
	r := resolver(t, reg, withGoogle(), garHost)

	if _, err := r.Resolve(testContext(t, 30*time.Second), garHost+"/proj/repo/app:1", images.Access{}); err != nil {
		t.Fatalf("resolving a private Artifact Registry image with the google helper: %v", err)
	}
	if n := md.Calls.Load(); n != 1 {
		t.Errorf("%d token requests to the metadata server, want 1", n)
	}
}

func TestGoogleRefusalNamesTheServiceAccountBinding(t *testing.T) {
	reg, md := garImage(t)
	md.Refuse.Store(true)
	r := resolver(t, reg, withGoogle(), garHost)

	_, err := r.Resolve(testContext(t, 30*time.Second), garHost+"/proj/repo/app:1", images.Access{})
	want := "Google's metadata server refused strata's identity for " + garHost + ": check the Google service account"
	if images.KindOf(err) != images.KindUnauthorized || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an unauthorized error saying %q", err, want)
	}
}
