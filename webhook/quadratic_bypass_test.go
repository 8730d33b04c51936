package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// pushManyLayers pushes repoTag, an image manifest of n layers (a large
// one, then n-1 of a few bytes, each made by a RUN step) and its config,
// without the layers themselves: strata reads a manifest and a config,
// never a layer. About 400 KB of manifest and config at n = 2000.
func pushManyLayers(t *testing.T, host, repo, tag string, n int) {
	t.Helper()
	cf := v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{User: "1000"}, RootFS: v1.RootFS{Type: "layers"}}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2}
	for i := range n {
		diff := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", i+1)}
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, diff)
		cf.History = append(cf.History, v1.History{CreatedBy: "RUN /bin/sh -c rm -rf /tmp/x"})
		size := int64(10)
		if i == 0 {
			size = 20 << 20
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.DockerLayer, Size: size, Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", n+i+1)}})
	}
	rawCfg, err := json.Marshal(cf)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.NewRepository(host+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteLayer(r, static.NewLayer(rawCfg, types.DockerConfigJSON), remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	m.Config = v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(rawCfg)), Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(rawCfg))}}
	rawManifest, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, "http://"+host+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(rawManifest))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", string(types.DockerManifestSchema2))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT manifest: %s", resp.Status)
	}
}

// checkAgain checks a pod of image, then a second one by another container
// name, whose evaluation is not answered from the result cache, and returns
// the second's violations: its evaluation gets the engine's whole bound, no
// share of it spent on the registry.
func checkAgain(t *testing.T, checker *Checker, image string) []policy.Violation {
	t.Helper()
	_ = checkPod(t, checker, workload.Container{Name: "warm", Image: image})
	return checkPod(t, checker, workload.Container{Name: "app", Image: image})
}

// layer-efficiency compared every RUN step's layer with the largest of
// every layer before it: steps × layers. One image of 2,000 tiny RUN
// layers (400 KB, well within the registry body cap) made a single
// evaluation run past the engine's 1 s bound; a failed evaluation is never
// cached, so every pod naming the image, and every container of it, costs
// strata a second of CPU until the request's deadline, and a tenant's
// handful of concurrent creates holds strata's cores: every namespace's
// admissions wait, and enforce namespaces (failurePolicy Fail) are denied.
func TestManyLayeredImageCannotHoldTheEngineForASecond(t *testing.T) {
	p := newPipeline(t)
	host := imagetest.Registry(t)
	pushManyLayers(t, host, "shop/layers", "1", 2000)
	checker := p.checkerOn(t, host)
	// The engine's own 1 s bound is what tells: past it the evaluation is
	// a policy-error (no timing is asserted here).
	vs := checkAgain(t, checker, host+"/shop/layers:1")
	if slices.ContainsFunc(vs, func(v policy.Violation) bool { return v.Policy == policy.PolicyError }) {
		var ids []string
		for _, v := range vs {
			if !slices.Contains(ids, v.Policy) {
				ids = append(ids, v.Policy)
			}
		}
		t.Errorf("Check(one container, image of 2000 RUN layers) = violations of %v; want the policies evaluated within the engine's 1 s bound, without a policy-error", ids)
	}
}

// Linear is not enough when the publisher sets n: 18,000 layers (4 MB of
// manifest and config, within the registry body cap) still held one
// evaluation past the engine's 1 s bound, every policy's pass over the
// history added up. No runtime mounts that many layers (overlayfs stacks at
// most 500, Docker builds at most 127): such an image is refused as too
// complex before any policy reads it, with a message that says so.
func TestImageOfThousandsOfLayersIsRefusedBeforeEvaluation(t *testing.T) {
	p := newPipeline(t)
	host := imagetest.Registry(t)
	pushManyLayers(t, host, "shop/layers", "1", 18000)
	checker := p.checkerOn(t, host)
	vs := checkAgain(t, checker, host+"/shop/layers:1")
	if len(vs) != 1 || vs[0].Policy != "image-resolution" || !strings.Contains(vs[0].Msg, "beyond the bounds strata reads of an image") {
		t.Errorf("Check(image of 18000 layers) = %v; want one image-resolution violation, too complex, before any policy evaluated it", vs)
	}
}
