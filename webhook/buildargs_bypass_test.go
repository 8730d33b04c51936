package webhook

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// Builders record the build arguments a RUN step saw in its history entry
// ("|1 NPM_TOKEN=… /bin/sh -c …", BuildKit the same after "RUN "), a known
// way tokens leak into images. layer-efficiency quoted the step that made a
// wasted layer, build arguments and all, and strata carried the quote to
// every place a violation goes: the kubectl warning, the decision log, the
// API server's audit log (audit annotations), PolicyReports and the SARIF
// of a CI run, whose readers are not the image's.
func TestViolationMessagesWithholdTheBuildArgumentsOfAStep(t *testing.T) {
	p := newPipeline(t)
	host := imagetest.Registry(t)
	const secret = "npm_s3cr3tT0k3n"
	big, err := random.Image(11<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	small, err := random.Layer(256, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(big, small)
	if err != nil {
		t.Fatal(err)
	}
	img = imagetest.WithConfig(t, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture, cf.Config.User = "linux", "amd64", "1000"
		cf.History = []v1.History{
			{CreatedBy: "COPY dist /app # buildkit"},
			{CreatedBy: "|2 NPM_TOKEN=" + secret + " REGION=eu /bin/sh -c rm -rf /app/cache"},
		}
	})
	imagetest.Push(t, host+"/shop/leaky:1", img)
	checker := p.checkerOn(t, host)
	vs := checkPod(t, checker, workload.Container{Name: "app", Image: host + "/shop/leaky:1"})
	if !slices.ContainsFunc(vs, func(v policy.Violation) bool { return v.Policy == "layer-efficiency" }) {
		t.Fatalf("Check(image whose last RUN step only deletes files after an 11 MiB layer) = %v, want a layer-efficiency violation", vs)
	}
	for _, v := range vs {
		if strings.Contains(v.Msg, secret) {
			t.Errorf("Check(...) violation %s quotes the build argument NPM_TOKEN's value: %q", v.Policy, v.Msg)
		}
	}
}
