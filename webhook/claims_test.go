package webhook

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
)

// TestImageClaimingAnApprovedBaseNameIsNotApproved: the demo's catalog knows
// base/debian:12 and approves base/debian:*. An image built on
// base/debian:experimental (a tag the catalog does not list) claims
// org.opencontainers.image.base.name=base/debian:12 with the experimental
// digest; the claim holds by layers, but the catalog never saw that name at
// that digest, so the image is denied in enforce (approved-base), as it would
// be without the claim.
func TestImageClaimingAnApprovedBaseNameIsNotApproved(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	push := func(repoTag string, img v1.Image, annotations map[string]string) string {
		t.Helper()
		if annotations != nil {
			img = mutate.Annotations(img, annotations).(v1.Image)
		}
		return imagetest.Push(t, p.Demo.Addr+"/"+repoTag, img).String()
	}
	unapproved, err := demo.BuildImage(empty.Image, "", "an unvetted experimental root filesystem")
	if err != nil {
		t.Fatal(err)
	}
	app, err := demo.BuildImage(unapproved, "10001", "an app")
	if err != nil {
		t.Fatal(err)
	}
	baseDigest := push("base/debian:experimental", unapproved, nil)
	push("shop/claimer:1.0", app, map[string]string{
		"org.opencontainers.image.base.name":   p.Demo.Ref("base/debian:12"),
		"org.opencontainers.image.base.digest": baseDigest,
	})

	srv := serveHandler(t, handlers(p.Checker, nil, nil)[policy.Enforce])
	r := admit(t, srv.URL, reviewOf(t, "claimer-uid", "Pod", "CREATE", podOf("claimer", p.Demo.Ref("shop/claimer:1.0")), nil))
	if r.Allowed || !strings.Contains(r.Result.Message, "[approved-base]") {
		t.Errorf("POST pod built on an unapproved base claiming base/debian:12: allowed %v, message %q; want denied by approved-base", r.Allowed, r.Result.Message)
	}
}
