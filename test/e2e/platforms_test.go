//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/strata-project/strata/webhook/demo"
)

// rawIndex is an index manifest exactly as written, for remote.Put: it can
// say whatever a hostile registry could.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// indexEntry is one entry of a crafted index: an image, or a nested index.
type indexEntry struct {
	img      v1.Image
	nested   []indexEntry
	platform *v1.Platform // nil: the entry states no platform
	annotate map[string]string
}

// pushCraftedIndex pushes the images and indexes of entries by digest, then
// the index of entries as repoTag.
func (r *registry) pushCraftedIndex(ctx context.Context, repoTag string, entries []indexEntry) error {
	descs, err := r.pushEntries(ctx, repoTag, entries)
	if err != nil {
		return err
	}
	_, err = r.putIndex(ctx, r.ref(repoTag), descs)
	return err
}

func (r *registry) pushEntries(ctx context.Context, repoTag string, entries []indexEntry) ([]v1.Descriptor, error) {
	repo, err := name.ParseReference(r.ref(repoTag))
	if err != nil {
		return nil, err
	}
	var descs []v1.Descriptor
	for _, e := range entries {
		var d v1.Descriptor
		if e.img != nil {
			h, err := e.img.Digest()
			if err != nil {
				return nil, err
			}
			if _, err := r.push(ctx, repo.Context().RepositoryStr()+"@"+h.String(), e.img); err != nil {
				return nil, err
			}
			size, _ := e.img.Size()
			mt, _ := e.img.MediaType()
			d = v1.Descriptor{MediaType: mt, Size: size, Digest: h}
		} else {
			children, err := r.pushEntries(ctx, repoTag, e.nested)
			if err != nil {
				return nil, err
			}
			if d, err = r.putIndex(ctx, "", children, repo.Context().Name()); err != nil {
				return nil, err
			}
		}
		d.Platform, d.Annotations = e.platform, e.annotate
		descs = append(descs, d)
	}
	return descs, nil
}

// putIndex writes an index of descs as ref, or by its digest in repo[0] when
// ref is empty, and returns its descriptor.
func (r *registry) putIndex(ctx context.Context, ref string, descs []v1.Descriptor, repo ...string) (v1.Descriptor, error) {
	body, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs})
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(body))
	if err != nil {
		return v1.Descriptor{}, err
	}
	if ref == "" {
		ref = repo[0] + "@" + h.String()
	}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return v1.Descriptor{}, err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(&http.Transport{TLSClientConfig: r.pki.TLSConfig()})}
	if err := remote.Put(parsed, rawIndex(body), opts...); err != nil {
		return v1.Descriptor{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	return v1.Descriptor{MediaType: types.OCIImageIndex, Size: size, Digest: h}, nil
}

// onPlatform returns img with its config saying os/arch.
func onPlatform(t *testing.T, img v1.Image, os, arch string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPlatformAttacksAreDenied hides a root image from strata the ways an
// index can, where a linux/amd64 node (the suite's one configured platform)
// pulls it, and applies each through kubectl in the enforce namespace.
func TestPlatformAttacksAreDenied(t *testing.T) {
	showLogsOnFailure(t)
	b := &demo.Builder{}
	osImg := b.Image(empty.Image, "", "os root filesystem")
	runtime := b.Image(osImg, "", "runtime", "runtime libraries")
	root := b.Image(runtime, "", "platform attack root app")
	nonRoot := b.Image(runtime, "65532", "platform attack decoy")
	if b.Err != nil {
		t.Fatal(b.Err)
	}
	amd64 := &v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := &v1.Platform{OS: "linux", Architecture: "arm64"}
	decoy := indexEntry{img: onPlatform(t, nonRoot, "linux", "arm64"), platform: arm64}
	for _, tc := range []struct {
		name    string
		entries []indexEntry
		policy  string
	}{
		{"config-says-windows", []indexEntry{{img: onPlatform(t, root, "windows", "amd64"), platform: amd64}, decoy}, "[image-resolution]"},
		{"attestation-annotation", []indexEntry{{img: root, platform: amd64, annotate: map[string]string{"vnd.docker.reference.type": "attestation-manifest"}}, decoy}, "[run-as-root]"},
		{"no-platform", []indexEntry{{img: root}, decoy}, "[run-as-root]"},
		{"nested-index", []indexEntry{{nested: []indexEntry{{img: root, platform: amd64}}, platform: amd64}, decoy}, "[run-as-root]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repoTag := "attacks/" + tc.name + ":1"
			if err := s.pub.pushCraftedIndex(t.Context(), repoTag, tc.entries); err != nil {
				t.Fatal(err)
			}
			podName := "platform-" + tc.name
			out, err := apply(t, nsEnforce, podYAML(podName, s.pub.ref(repoTag)))
			mustDeny(t, "apply "+tc.name, out, err)
			mustContain(t, "apply "+tc.name, out, tc.policy)
			mustNotExist(t, nsEnforce, "Pod", podName)
		})
	}
	t.Run("plain-manifest-config-says-windows", func(t *testing.T) {
		repoTag := "attacks/plain-windows:1"
		if _, err := s.pub.push(t.Context(), repoTag, onPlatform(t, root, "windows", "amd64")); err != nil {
			t.Fatal(err)
		}
		out, err := apply(t, nsEnforce, podYAML("platform-plain-windows", s.pub.ref(repoTag)))
		mustDeny(t, "apply plain-windows", out, err)
		mustContain(t, "apply plain-windows", out, "[run-as-root]")
		mustNotExist(t, nsEnforce, "Pod", "platform-plain-windows")
	})
}
