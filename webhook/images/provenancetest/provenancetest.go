// Package provenancetest builds images with build provenance attached the
// way BuildKit attaches it (docs/attestations/attestation-storage.md in its
// repository): an index listing each platform image, then, after all of
// them, one attestation manifest per image under platform unknown/unknown,
// annotated vnd.docker.reference.type and vnd.docker.reference.digest,
// whose layer is an in-toto statement annotated in-toto.io/predicate-type.
// The unit tests and the e2e suite push the same fixtures.
package provenancetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Form is how the attestation manifest is stored.
type Form int

const (
	// Legacy is BuildKit's form before v0.32: a plain image manifest whose
	// config says unknown/unknown.
	Legacy Form = iota
	// Artifact is the OCI-artifact form BuildKit writes by default since
	// v0.32: the same manifest with an artifactType and a subject.
	Artifact
)

// BuildKit's names, written out here rather than taken from the package
// under test, so that a typo there fails the tests instead of agreeing
// with them.
const (
	// ArtifactTypeAttestation is the artifactType of the Artifact form.
	ArtifactTypeAttestation = "application/vnd.docker.attestation.manifest.v1+json"

	StatementV01    = "https://in-toto.io/Statement/v0.1"
	StatementV1     = "https://in-toto.io/Statement/v1"
	PredicateSLSA02 = "https://slsa.dev/provenance/v0.2"
	PredicateSLSA1  = "https://slsa.dev/provenance/v1"

	mediaTypeInToto     = "application/vnd.in-toto+json"
	annotationPredicate = "in-toto.io/predicate-type"
	annotationRefType   = "vnd.docker.reference.type"
	annotationRefDigest = "vnd.docker.reference.digest"
	refTypeAttestation  = "attestation-manifest"
)

// Material is one image a build used: its package URL (see PURL) and
// digest ("sha256:…", or "" for none).
type Material struct {
	URI    string
	Digest string
}

// Provenance is the statement to attach to one platform image.
type Provenance struct {
	// StatementType and PredicateType default to Statement v1 and SLSA v1,
	// BuildKit's defaults since v0.28.
	StatementType string
	PredicateType string
	// Materials are the images the build used, in BuildKit's order (the
	// stages in the order the Dockerfile names them).
	Materials []Material
	Form      Form
	// Subject, when set, replaces the platform image's digest as the
	// statement's subject (an attestation about another image).
	Subject *v1.Hash
}

// Build is one platform image of an index and the provenance attached to it
// (none when Provenance is nil).
type Build struct {
	Image      v1.Image
	Provenance *Provenance
	// Annotations are set on the image's index descriptor (Docker Official
	// Images put their base.name and base.digest there too).
	Annotations map[string]string
}

// Index returns an OCI index of the builds' images, each listed under its
// config's platform, followed by the attestation manifests.
func Index(tb testing.TB, builds ...Build) v1.ImageIndex {
	tb.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var atts []mutate.IndexAddendum
	for _, b := range builds {
		cf, err := b.Image.ConfigFile()
		if err != nil {
			tb.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: b.Image, Descriptor: v1.Descriptor{Platform: cf.Platform(), Annotations: b.Annotations}})
		if b.Provenance != nil {
			atts = append(atts, Attestation(tb, b.Image, *b.Provenance))
		}
	}
	return mutate.AppendManifests(idx, atts...)
}

// Attestation returns the index entry BuildKit writes for img's provenance.
func Attestation(tb testing.TB, img v1.Image, p Provenance) mutate.IndexAddendum {
	tb.Helper()
	d, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	subject := d
	if p.Subject != nil {
		subject = *p.Subject
	}
	if p.StatementType == "" {
		p.StatementType = StatementV1
	}
	if p.PredicateType == "" {
		p.PredicateType = PredicateSLSA1
	}
	layer := static.NewLayer(Statement(subject, p.StatementType, p.PredicateType, p.Materials), types.MediaType(mediaTypeInToto))
	att, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       layer,
		Annotations: map[string]string{annotationPredicate: p.PredicateType},
	})
	if err != nil {
		tb.Fatal(err)
	}
	att = mutate.ConfigMediaType(att, types.OCIConfigJSON)
	if att, err = mutate.ConfigFile(att, &v1.ConfigFile{OS: "unknown", Architecture: "unknown", RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{mustDiffID(tb, layer)}}}); err != nil {
		tb.Fatal(err)
	}
	if p.Form == Artifact {
		size, _ := img.Size()
		mt, _ := img.MediaType()
		att = artifact(tb, att, v1.Descriptor{MediaType: mt, Digest: d, Size: size})
	}
	desc := v1.Descriptor{
		Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{
			annotationRefType:   refTypeAttestation,
			annotationRefDigest: d.String(),
		},
	}
	if p.Form == Artifact {
		desc.ArtifactType = ArtifactTypeAttestation
	}
	return mutate.IndexAddendum{Add: att, Descriptor: desc}
}

// Statement is an in-toto statement about subject whose SLSA predicate
// lists materials: predicate.materials for v0.2,
// predicate.buildDefinition.resolvedDependencies for v1.
func Statement(subject v1.Hash, statementType, predicateType string, materials []Material) []byte {
	type descriptor struct {
		URI    string            `json:"uri"`
		Digest map[string]string `json:"digest,omitempty"`
	}
	deps := make([]descriptor, 0, len(materials))
	for _, m := range materials {
		d := descriptor{URI: m.URI}
		if m.Digest != "" {
			d.Digest = map[string]string{"sha256": strings.TrimPrefix(m.Digest, "sha256:")}
		}
		deps = append(deps, d)
	}
	predicate := map[string]any{}
	if predicateType == PredicateSLSA02 {
		predicate["buildType"] = "https://mobyproject.org/buildkit@v1"
		predicate["builder"] = map[string]any{"id": ""}
		predicate["materials"] = deps
	} else {
		predicate["buildDefinition"] = map[string]any{
			"buildType":            "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md",
			"resolvedDependencies": deps,
		}
		predicate["runDetails"] = map[string]any{"builder": map[string]any{"id": ""}}
	}
	raw, err := json.Marshal(map[string]any{
		"_type":         statementType,
		"predicateType": predicateType,
		"subject":       []map[string]any{{"name": "_", "digest": map[string]string{subject.Algorithm: subject.Hex}}},
		"predicate":     predicate,
	})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return raw
}

// PURL writes ref the way BuildKit names a build's images (its
// util/purl.RefToPURL): pkg:docker/<namespace>/<name>@<tag>, the digest as
// a qualifier when the reference has both, as the version when it has no
// tag; Docker Hub's docker.io/library/ left out; the platform a qualifier.
func PURL(tb testing.TB, ref string, platform string) string {
	tb.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		tb.Fatal(err)
	}
	repo := r.Context().RegistryStr() + "/" + r.Context().RepositoryStr()
	repo = strings.TrimPrefix(repo, name.DefaultRegistry+"/")
	repo = strings.TrimPrefix(repo, "library/")
	var version string
	q := url.Values{}
	tag, digest := "", ""
	if at := strings.LastIndex(ref, "@"); at >= 0 {
		digest = ref[at+1:]
	}
	if t, ok := r.(name.Tag); ok {
		tag = t.TagStr()
	} else if rest, _, _ := strings.Cut(ref, "@"); strings.Contains(rest[strings.LastIndex(rest, "/")+1:], ":") {
		tag = rest[strings.LastIndex(rest, ":")+1:]
	}
	switch {
	case tag != "":
		version = tag
		if digest != "" {
			q.Set("digest", digest)
		}
	default:
		version = digest
	}
	if platform != "" {
		q.Set("platform", platform)
	}
	out := "pkg:docker/" + repo
	if version != "" {
		out += "@" + url.PathEscape(version)
	}
	if len(q) > 0 {
		out += "?" + q.Encode()
	}
	return out
}

// artifact is img (an attestation manifest) in the OCI-artifact form: the
// same config and layers, the manifest given an artifactType and a subject.
func artifact(tb testing.TB, img v1.Image, subject v1.Descriptor) v1.Image {
	tb.Helper()
	m, err := img.Manifest()
	if err != nil {
		tb.Fatal(err)
	}
	m = m.DeepCopy()
	m.ArtifactType = ArtifactTypeAttestation
	m.Subject = &subject
	raw, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return &rawManifest{Image: img, raw: raw, manifest: m}
}

// rawManifest is an image whose manifest is given as written.
type rawManifest struct {
	v1.Image
	raw      []byte
	manifest *v1.Manifest
}

func (r *rawManifest) RawManifest() ([]byte, error)    { return r.raw, nil }
func (r *rawManifest) Manifest() (*v1.Manifest, error) { return r.manifest.DeepCopy(), nil }
func (r *rawManifest) Size() (int64, error)            { return int64(len(r.raw)), nil }
func (r *rawManifest) Digest() (v1.Hash, error) {
	sum := sha256.Sum256(r.raw)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}, nil
}

func mustDiffID(tb testing.TB, l v1.Layer) v1.Hash {
	tb.Helper()
	d, err := l.DiffID()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
