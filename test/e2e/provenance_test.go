//go:build e2e

package e2e

import (
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images/provenancetest"
)

// TestProvenanceLineageThroughDockerRegistry pushes BuildKit-shaped builds
// to docker-registry: a vendor runtime on the catalog's OS, a library on
// the runtime, an application on the library, none of the three in the
// catalog and none annotated; each names its base only in its build
// provenance, the application's listing a builder image first. strata
// finds the whole chain from provenance, verified by layers: four levels,
// one more than the suite's maxDepth, so lineage-depth denies it, naming
// the runtime and the library by digest. Without provenance the chain
// would be the OS alone, two levels, and the pod admitted.
func TestProvenanceLineageThroughDockerRegistry(t *testing.T) {
	showLogsOnFailure(t)
	for _, tc := range []struct {
		name                 string
		form                 provenancetest.Form
		statement, predicate string
	}{
		{"legacy-slsa02", provenancetest.Legacy, provenancetest.StatementV01, provenancetest.PredicateSLSA02},
		{"artifact-slsa1", provenancetest.Artifact, provenancetest.StatementV1, provenancetest.PredicateSLSA1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			b := &demo.Builder{}
			osImg := b.Image(empty.Image, "", "os root filesystem") // the suite's catalog OS
			builderImg := b.Image(empty.Image, "", "toolchain "+tc.name)
			jdk := b.Image(osImg, "", "vendor runtime "+tc.name)
			lib := b.Image(jdk, "", "vendor library "+tc.name)
			app := b.Image(lib, "65532", "provenance app "+tc.name)
			if b.Err != nil {
				t.Fatal(b.Err)
			}
			prov := func(materials ...provenancetest.Material) *provenancetest.Provenance {
				return &provenancetest.Provenance{StatementType: tc.statement, PredicateType: tc.predicate, Form: tc.form, Materials: materials}
			}
			material := func(repoTag, digest string) provenancetest.Material {
				return provenancetest.Material{URI: provenancetest.PURL(t, s.pub.ref(repoTag)+"@"+digest, "linux/amd64"), Digest: digest}
			}
			push := func(repoTag string, img v1.Image, p *provenancetest.Provenance) string {
				d, err := s.pub.push(ctx, repoTag, provenancetest.Index(t, provenancetest.Build{Image: img, Provenance: p}))
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			osDigest, err := s.pub.push(ctx, "base/os:1", osImg)
			if err != nil {
				t.Fatal(err)
			}
			builderDigest := push("vendor/toolchain:"+tc.name, builderImg, nil)
			jdkDigest := push("vendor/jdk:"+tc.name, jdk, prov(material("base/os:1", osDigest)))
			libDigest := push("vendor/lib:"+tc.name, lib, prov(material("vendor/jdk:"+tc.name, jdkDigest)))
			push("apps/provenance:"+tc.name, app, prov(material("vendor/toolchain:"+tc.name, builderDigest), material("vendor/lib:"+tc.name, libDigest)))

			podName := "provenance-" + tc.name
			out, err := apply(t, nsEnforce, podYAML(podName, s.pub.ref("apps/provenance:"+tc.name)))
			mustDeny(t, "apply "+podName, out, err)
			mustContain(t, "apply "+podName, out, "[lineage-depth]", "is 4 levels > 3", digestOf(t, jdk), digestOf(t, lib))
			mustNotContain(t, "apply "+podName, out, "[approved-base]")
			mustNotExist(t, nsEnforce, "Pod", podName)

			// The decision log says where each edge came from.
			d, ok := loggedDecision(t, "enforce", nsEnforce, podName)
			if !ok || len(d.Lineage) != 1 || len(d.Lineage[0].Chain) != 3 {
				t.Fatalf("decision log for %s: %+v, want one platform's chain of 3", podName, d)
			}
			want := []string{"[catalog provenance]", "[provenance]", "[provenance]"}
			for i, e := range d.Lineage[0].Chain {
				if fmt.Sprint(e.Sources) != want[i] || e.Verified != "layers" {
					t.Errorf("decision log edge %d = %+v, want sources %s, verified layers", i, e, want[i])
				}
			}
		})
	}
}

// TestForgedProvenanceIsNeverApprovedThroughDockerRegistry: an image on a
// hand-rolled root whose provenance names the catalog's approved OS is
// denied by approved-base: the named base's layers are not its first.
func TestForgedProvenanceIsNeverApprovedThroughDockerRegistry(t *testing.T) {
	showLogsOnFailure(t)
	ctx := t.Context()
	b := &demo.Builder{}
	osImg := b.Image(empty.Image, "", "os root filesystem")
	forged := b.Image(b.Image(empty.Image, "", "forged root filesystem"), "65532", "forged app")
	if b.Err != nil {
		t.Fatal(b.Err)
	}
	osDigest, err := s.pub.push(ctx, "base/os:1", osImg)
	if err != nil {
		t.Fatal(err)
	}
	material := provenancetest.Material{URI: provenancetest.PURL(t, s.pub.ref("base/os:1")+"@"+osDigest, "linux/amd64"), Digest: osDigest}
	if _, err := s.pub.push(ctx, "apps/forged:1", provenancetest.Index(t, provenancetest.Build{Image: forged, Provenance: &provenancetest.Provenance{Materials: []provenancetest.Material{material}}})); err != nil {
		t.Fatal(err)
	}
	out, err := apply(t, nsEnforce, podYAML("provenance-forged", s.pub.ref("apps/forged:1")))
	mustDeny(t, "apply provenance-forged", out, err)
	mustContain(t, "apply provenance-forged", out, "[approved-base]", "the base of image")
	mustNotExist(t, nsEnforce, "Pod", "provenance-forged")
}

func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
