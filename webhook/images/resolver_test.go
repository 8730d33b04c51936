package images

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/internal/imagetest"
)

func TestResolveMediaTypes(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	amd := testImage(t, 2, "1000", "linux/amd64")
	arm := testImage(t, 2, "1000", "linux/arm64/v8")
	ociAmd := mutate.MediaType(mutate.ConfigMediaType(amd, types.OCIConfigJSON), types.OCIManifestSchema1)
	ociArm := mutate.MediaType(mutate.ConfigMediaType(arm, types.OCIConfigJSON), types.OCIManifestSchema1)

	reg.push(t, "media/docker:v1", amd)
	reg.push(t, "media/oci:v1", ociAmd)
	reg.push(t, "media/list:v1", testIndex(t, types.DockerManifestList, amd, arm))
	reg.push(t, "media/index:v1", testIndex(t, types.OCIImageIndex, ociAmd, ociArm))

	for _, tc := range []struct {
		tag           string
		wantType      types.MediaType
		wantPlatforms []string
	}{
		{"media/docker:v1", types.DockerManifestSchema2, []string{"linux/amd64"}},
		{"media/oci:v1", types.OCIManifestSchema1, []string{"linux/amd64"}},
		{"media/list:v1", types.DockerManifestList, []string{"linux/amd64", "linux/arm64/v8"}},
		{"media/index:v1", types.OCIImageIndex, []string{"linux/amd64", "linux/arm64/v8"}},
	} {
		img, err := r.Resolve(testContext(t, 5*time.Second), reg.ref(tc.tag), Access{})
		if err != nil {
			t.Errorf("Resolve(%s) error: %v", tc.tag, err)
			continue
		}
		if img.MediaType != string(tc.wantType) {
			t.Errorf("Resolve(%s).MediaType = %s, want %s", tc.tag, img.MediaType, tc.wantType)
		}
		var got []string
		for _, f := range img.Platforms {
			got = append(got, f.Platform)
			if f.Layers != 2 || len(f.DiffIDs) != 2 || f.Config.User.Raw != "1000" || f.Size <= 0 {
				t.Errorf("Resolve(%s) platform %s = %d layers, %d diff IDs, user %q, size %d; want 2, 2, \"1000\", > 0",
					tc.tag, f.Platform, f.Layers, len(f.DiffIDs), f.Config.User.Raw, f.Size)
			}
			if !strings.HasSuffix(f.Ref, "@"+f.Digest.String()) {
				t.Errorf("Resolve(%s) platform ref %q does not end in its digest %s", tc.tag, f.Ref, f.Digest)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.wantPlatforms, ",") {
			t.Errorf("Resolve(%s) platforms = %v, want %v", tc.tag, got, tc.wantPlatforms)
		}
	}
}

func TestResolveDiffIDsMatchConfig(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	img := testImage(t, 4, "", "linux/amd64")
	reg.push(t, "shop/web:1", img)
	r := newTestResolver(t, reg, Options{})
	got := resolveOK(t, r, reg.ref("shop/web:1"), Access{})
	cf, _ := img.ConfigFile()
	for i, want := range cf.RootFS.DiffIDs {
		if got.Platforms[0].DiffIDs[i].String() != want.String() {
			t.Errorf("DiffIDs[%d] = %s, want %s", i, got.Platforms[0].DiffIDs[i], want)
		}
	}
	if !got.Platforms[0].Config.User.IsRoot() {
		t.Errorf("an image with an empty USER: User = %+v, want root", got.Platforms[0].Config.User)
	}
}

// An index is checked by the entries the configured platforms' nodes pull,
// each with its own user; an index that lists none of the configured
// platforms is checked by all its own.
func TestResolveIndexChecksThePlatformsItRunsOn(t *testing.T) {
	t.Parallel()
	type entry struct{ platform, user string }
	for _, tc := range []struct {
		name          string
		listed, want  []entry
		wantExplained string
	}{
		{"MultiArchDifferentUsers",
			[]entry{{"linux/amd64", "65532"}, {"linux/arm64", "root"}, {"linux/s390x", "app"}},
			[]entry{{"linux/amd64", "65532"}, {"linux/arm64", "root"}},
			"s390x is not a configured platform"},
		{"IndexWithoutConfiguredPlatforms",
			[]entry{{"windows/amd64", "ContainerUser"}, {"linux/s390x", "1000"}},
			[]entry{{"windows/amd64", "ContainerUser"}, {"linux/s390x", "1000"}},
			"none of its platforms is configured: its own are checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newTestRegistry(t)
			var imgs []v1.Image
			for _, e := range tc.listed {
				imgs = append(imgs, testImage(t, 1, e.user, e.platform))
			}
			reg.push(t, "multi/app:1", testIndex(t, types.OCIImageIndex, imgs...))
			r := newTestResolver(t, reg, Options{})
			img, err := r.Resolve(testContext(t, 5*time.Second), reg.ref("multi/app:1"), Access{})
			if err != nil {
				t.Fatalf("Resolve(multi/app:1): %v, want the index's platforms checked", err)
			}
			var got []entry
			for _, f := range img.Platforms {
				got = append(got, entry{f.Platform, f.Config.User.Raw})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Resolve(multi/app:1) platforms and users = %v, want %v (%s)", got, tc.want, tc.wantExplained)
			}
		})
	}
}

func TestResolveSkipsAttestations(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	amd := testImage(t, 1, "1000", "linux/amd64")
	amdDigest, _ := amd.Digest()
	attestation := mutate.ConfigMediaType(testImage(t, 1, "", "linux/amd64"), types.OCIConfigJSON)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: attestation, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		}},
	)
	reg.push(t, "attest/app:1", idx)
	r := newTestResolver(t, reg, Options{})
	img := resolveOK(t, r, reg.ref("attest/app:1"), Access{})
	if len(img.Platforms) != 1 || img.Platforms[0].Digest.String() != amdDigest.String() {
		t.Errorf("Resolve(attest/app:1) platforms = %v, want only linux/amd64 %s", platformsOf(img), amdDigest)
	}
}

func TestResolveAnnotationsAndConfig(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	base := "registry.example.com/base/debian:12"
	baseDigest := "sha256:" + hex64
	img := testImage(t, 2, "app:app", "linux/amd64")
	created := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	img = imagetest.WithConfig(t, img, func(cf *v1.ConfigFile) {
		cf.Created = v1.Time{Time: created}
		cf.Config.Env = []string{"PATH=/usr/bin", "APP_ENV=prod"}
		cf.Config.Entrypoint = []string{"/app"}
		cf.Config.Cmd = []string{"--serve"}
		cf.Config.WorkingDir = "/srv"
		cf.Config.Labels = map[string]string{AnnotationBaseName: base}
		cf.History = append(cf.History, v1.History{CreatedBy: "USER app", EmptyLayer: true})
	})
	img = mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1)
	img = mutate.Annotations(img, map[string]string{AnnotationBaseName: base, AnnotationBaseDigest: baseDigest}).(v1.Image)
	reg.push(t, "shop/web:1.2", img)

	r := newTestResolver(t, reg, Options{})
	got := resolveOK(t, r, reg.ref("shop/web:1.2"), Access{})
	f := got.Platforms[0]
	if f.Annotations.Get(AnnotationBaseName) != base || f.Annotations.Get(AnnotationBaseDigest) != baseDigest {
		t.Errorf("Annotations = %v, want the base name and digest", f.Annotations)
	}
	if f.Config.Labels.Get(AnnotationBaseName) != base {
		t.Errorf("Labels = %v, want the base name label", f.Config.Labels)
	}
	if !f.Config.Created.Equal(created) || strings.Join(f.Config.Env, ",") != "PATH=/usr/bin,APP_ENV=prod" ||
		f.Config.Entrypoint[0] != "/app" || f.Config.Cmd[0] != "--serve" || f.Config.WorkingDir != "/srv" {
		t.Errorf("Config = %+v, want the created time, env, entrypoint, cmd and working dir that were pushed", f.Config)
	}
	if u := f.Config.User; u.Name != "app" || u.Group != "app" || u.UID != nil {
		t.Errorf("User = %+v, want name app, group app, unknown uid", u)
	}
	last := f.History[len(f.History)-1]
	if !last.EmptyLayer || last.CreatedBy != "USER app" {
		t.Errorf("last history entry = %+v, want the empty USER step", last)
	}
}

func TestResolveTagAndDigestUsesDigest(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	first := testImage(t, 1, "1000", "linux/amd64")
	firstDigest := reg.push(t, "shop/web:1", first)
	reg.push(t, "shop/web:1", testImage(t, 1, "0", "linux/amd64")) // the tag moves on
	r := newTestResolver(t, reg, Options{})
	img, err := r.Resolve(testContext(t, 5*time.Second), reg.ref("shop/web:1@"+firstDigest.String()), Access{})
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest.String() != firstDigest.String() || img.Platforms[0].Config.User.Raw != "1000" {
		t.Errorf("Resolve(tag@digest) = %s user %q, want the pinned %s with user 1000", img.Digest, img.Platforms[0].Config.User.Raw, firstDigest)
	}
	if !strings.HasSuffix(img.Ref, "@"+firstDigest.String()) {
		t.Errorf("Resolve(tag@digest).Ref = %q, want the digest form", img.Ref)
	}
}

func TestResolveTagRepointedAfterTTL(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	clock := testutil.NewClock(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	r := newTestResolver(t, reg, Options{Now: clock.Now, TagTTL: time.Minute})
	oldDigest := reg.push(t, "base/debian:12", testImage(t, 1, "0", "linux/amd64"))
	resolve := func() *Image {
		t.Helper()
		img := resolveOK(t, r, reg.ref("base/debian:12"), Access{})
		return img
	}
	if got := resolve().Digest.String(); got != oldDigest.String() {
		t.Fatalf("first Resolve = %s, want %s", got, oldDigest)
	}
	newDigest := reg.push(t, "base/debian:12", testImage(t, 1, "0", "linux/amd64"))
	if got := resolve().Digest.String(); got != oldDigest.String() {
		t.Errorf("Resolve within the TTL = %s, want the cached %s", got, oldDigest)
	}
	clock.Advance(2 * time.Minute)
	if got := resolve().Digest.String(); got != newDigest.String() {
		t.Errorf("Resolve after the TTL = %s, want the re-pointed %s", got, newDigest)
	}
}

func TestResolveRefusesNonImages(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	helm := mutate.MediaType(mutate.ConfigMediaType(testImage(t, 1, "", "linux/amd64"), "application/vnd.cncf.helm.config.v1+json"), types.OCIManifestSchema1)
	reg.push(t, "charts/app:1", helm)
	putRaw(t, reg, "old/app", "1", types.DockerManifestSchema1Signed,
		[]byte(`{"schemaVersion":1,"name":"old/app","tag":"1","architecture":"amd64","fsLayers":[],"history":[],"signatures":[]}`))
	r := newTestResolver(t, reg, Options{})
	for _, tc := range []struct{ tag, wantMsg string }{
		{"charts/app:1", "not a container image"},
		{"old/app:1", "schema 1"},
	} {
		_, err := r.Resolve(testContext(t, 5*time.Second), reg.ref(tc.tag), Access{})
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindUnsupported || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("Resolve(%s) = %v, want a %s error mentioning %q", tc.tag, err, KindUnsupported, tc.wantMsg)
		}
	}
}

func TestResolveErrorsNameTheImage(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	for _, tc := range []struct {
		image    string
		wantKind Kind
	}{
		{reg.ref("missing/app:1"), KindNotFound},
		{"sha256:" + hex64, KindInvalidReference},
		{"Registry.Example.com/UPPER/case", KindInvalidReference},
	} {
		_, err := r.Resolve(testContext(t, 5*time.Second), tc.image, Access{})
		if KindOf(err) != tc.wantKind {
			t.Errorf("Resolve(%q) = %v, want kind %s", tc.image, err, tc.wantKind)
			continue
		}
		if !strings.Contains(err.Error(), tc.image) && !strings.Contains(err.Error(), "missing/app") {
			t.Errorf("Resolve(%q) error %q does not name the image", tc.image, err)
		}
	}
}

func platformsOf(img *Image) []string {
	var out []string
	for _, f := range img.Platforms {
		out = append(out, f.Platform)
	}
	return out
}

// putRaw stores a manifest exactly as given, for media types
// go-containerregistry will not build.
func putRaw(t testing.TB, reg *testRegistry, repo, tag string, mt types.MediaType, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, reg.URL+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", string(mt))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT raw manifest: HTTP %d", resp.StatusCode)
	}
	reg.takeRequests()
}
