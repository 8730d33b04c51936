package images

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushWithArtifactType pushes img with an artifactType field added to its
// manifest, and returns the descriptor of that manifest. artifactType is a
// label, like an annotation: containerd reads the config of such a manifest
// and runs it like any other image.
func pushWithArtifactType(t testing.TB, reg *testRegistry, repo string, img v1.Image, artifactType string) v1.Descriptor {
	t.Helper()
	return pushEdited(t, reg, repo, "", img, func(m map[string]any) { m["artifactType"] = artifactType })
}

// pushEdited pushes img's config and layers, then its manifest as edit
// leaves it, under tag (under its own digest when tag is ""), and returns
// the descriptor of that manifest: what a registry serves, whatever a
// well-behaved builder would write.
func pushEdited(t testing.TB, reg *testRegistry, repo, tag string, img v1.Image, edit func(manifest map[string]any)) v1.Descriptor {
	t.Helper()
	pushDesc(t, reg, repo, img) // the config and layers
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	if tag == "" {
		tag = d.String()
	}
	putRaw(t, reg, repo, tag, types.OCIManifestSchema1, body)
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(body)), Digest: d}
}

// An entry without a platform whose manifest carries an artifactType but an
// image config (linux/amd64, USER root) is what an amd64 node pulls when no
// entry lists linux/amd64: containerd matches it by its config and runs it.
// strata took the artifactType for "not an image", skipped the entry, and
// checked only the arm64 image.
func TestArtifactTypeOnAnEntryWithoutPlatformDoesNotHideIt(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	rootAmd := pushWithArtifactType(t, reg, "arttype/app", testImage(t, 1, "root", "linux/amd64"), "application/vnd.example.not-really+json")
	nonRootArm := pushDesc(t, reg, "arttype/app", testImage(t, 1, "1000", "linux/arm64"))
	pushRawIndex(t, reg, "arttype/app", "1", withPlatform(t, rootAmd, ""), withPlatform(t, nonRootArm, "linux/arm64"))
	img, err := resolveTB(t, r, reg.ref("arttype/app:1"))
	if err != nil {
		return // refused: nothing unchecked is admitted
	}
	wantEvaluated(t, "arttype/app:1", img, rootAmd, "the linux/amd64 image without a platform that an amd64 node pulls (its manifest has an artifactType)")
}

// containerd matches an entry without a platform by the os and architecture
// its config blob states, whatever the config's media type
// (core/images/image.go: Manifest, ConfigPlatform), and unpacks its layers
// when a container is created. strata called such an entry "an artifact, not
// a container image", skipped it, and checked only the arm64 image.
func TestConfigMediaTypeOnAnEntryWithoutPlatformDoesNotHideIt(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	disguised := mutate.ConfigMediaType(testImage(t, 1, "root", "linux/amd64"), "application/vnd.example.config.v1+json")
	rootAmd := pushDesc(t, reg, "cfgtype/app", disguised)
	nonRootArm := pushDesc(t, reg, "cfgtype/app", testImage(t, 1, "1000", "linux/arm64"))
	pushRawIndex(t, reg, "cfgtype/app", "1", withPlatform(t, rootAmd, ""), withPlatform(t, nonRootArm, "linux/arm64"))
	img, err := resolveTB(t, r, reg.ref("cfgtype/app:1"))
	if err != nil {
		// Refused, naming the entry: nothing unchecked is admitted.
		if KindOf(err) != KindUnsupported || !strings.Contains(err.Error(), rootAmd.Digest.String()) {
			t.Errorf("Resolve(cfgtype/app:1) = %v, want an %s error naming %s", err, KindUnsupported, rootAmd.Digest)
		}
		return
	}
	wantEvaluated(t, "cfgtype/app:1", img, rootAmd, "with no error, the entry without a platform whose config says linux/amd64 (its config media type is not an image config's)")
}

// TestCloudMetadataAddressesOutsideLinkLocalAreRefused: the guard names
// the cloud services that hand out credentials or secrets, not only the
// link-local range most of them use; a blob redirect or a token realm at one
// of these public addresses was dialled. Each row refuses the service's
// address, IPv4-mapped IPv6 included, and leaves its neighbour alone.
func TestCloudMetadataAddressesOutsideLinkLocalAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		service   string
		refused   []string
		neighbour string
	}{
		// Alibaba Cloud's instance metadata service (and its RAM role
		// credentials) answers at 100.100.100.200, which is not link-local.
		{"AlibabaCloudMetadataAddress", "Alibaba Cloud's metadata service", []string{"100.100.100.200:80", "[::ffff:100.100.100.200]:443"}, "100.100.100.201:443"},
		// Azure's WireServer (168.63.129.16) hands VM extensions their
		// settings and certificates; it is a public address.
		{"AzureWireServerAddress", "Azure's WireServer", []string{"168.63.129.16:80", "[::ffff:168.63.129.16]:32526"}, "168.63.129.17:443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, addr := range tc.refused {
				if err := refuseForbiddenDial("tcp", addr, nil); err == nil {
					t.Errorf("refuseForbiddenDial(%s) = nil, want a refusal: it is %s", addr, tc.service)
				}
			}
			if err := refuseForbiddenDial("tcp", tc.neighbour, nil); err != nil {
				t.Errorf("refuseForbiddenDial(%s) = %v, want nil: only %s's address is refused", tc.neighbour, err, tc.service)
			}
		})
	}
}
