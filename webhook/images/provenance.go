package images

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Build provenance, as BuildKit attaches it (docs/attestations in its
// repository): an image manifest listed in the index under platform
// unknown/unknown, annotated vnd.docker.reference.type attestation-manifest
// and vnd.docker.reference.digest <the platform manifest>, whose layers are
// in-toto statements. Since BuildKit v0.32 that manifest is an OCI artifact
// (artifactType, subject), listed in the index the same way.
const (
	AnnotationReferenceType   = "vnd.docker.reference.type"
	AnnotationReferenceDigest = "vnd.docker.reference.digest"
	ReferenceTypeAttestation  = "attestation-manifest"
	AnnotationPredicateType   = "in-toto.io/predicate-type"
	MediaTypeInToto           = "application/vnd.in-toto+json"

	StatementV01    = "https://in-toto.io/Statement/v0.1"
	StatementV1     = "https://in-toto.io/Statement/v1"
	PredicateSLSA02 = "https://slsa.dev/provenance/v0.2"
	PredicateSLSA1  = "https://slsa.dev/provenance/v1"
)

// maxMaterials bounds the materials kept of one provenance: a build uses a
// few images; a statement listing thousands is not read past this many.
const maxMaterials = 64

// Provenance is what a platform manifest's build provenance says it was
// built from. It is the builder's word, never a fact about the image:
// lineage uses a material only once its layers are checked against the
// image's own.
type Provenance struct {
	// Attestation is the digest of the attestation manifest it was read from.
	Attestation   Digest `json:"attestation"`
	StatementType string `json:"statementType"`
	PredicateType string `json:"predicateType"`
	// Materials are the inputs the build lists (predicate.materials in SLSA
	// v0.2, predicate.buildDefinition.resolvedDependencies in v1), builder
	// stages included, in the statement's order.
	Materials []Material `json:"materials"`
}

// Material is one input of a build: a package URL (pkg:docker/debian@12?…)
// and its sha256 digest, "" when the statement gives none.
type Material struct {
	URI    string `json:"uri"`
	Digest string `json:"digest,omitempty"`
}

func (p *Provenance) cost() int64 {
	if p == nil {
		return 0
	}
	n := int64(unsafe.Sizeof(*p)) + int64(len(p.StatementType)+len(p.PredicateType))
	for _, m := range p.Materials {
		n += int64(unsafe.Sizeof(m)) + roundAlloc(len(m.URI)) + roundAlloc(len(m.Digest))
	}
	return n
}

// attestationsOf maps each manifest of an index to the attestation manifest
// the index lists for it; the first one listed counts (at most one per
// platform manifest is read).
func attestationsOf(entries []v1.Descriptor) map[Digest]Digest {
	var out map[Digest]Digest
	for _, e := range entries {
		if e.Annotations[AnnotationReferenceType] != ReferenceTypeAttestation {
			continue
		}
		subject, err := ParseDigest(e.Annotations[AnnotationReferenceDigest])
		if err != nil {
			continue
		}
		att, err := digestFromHash(e.Digest)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[Digest]Digest{}
		}
		if _, ok := out[subject]; !ok {
			out[subject] = att
		}
	}
	return out
}

// withProvenance returns f with p attached, cached in f's place (facts are
// shared and never modified), or f itself when p is nil or f has one.
func (r *Resolver) withProvenance(f *Facts, p *Provenance) *Facts {
	if p == nil || f == nil || f.Provenance != nil {
		return f
	}
	withP := *f
	withP.Provenance = p
	r.facts.Add(f.Digest, &withP, withP.cost())
	return &withP
}

// provenanceOf reads the SLSA provenance statement of the attestation
// manifest pinned (an attestation of subject): the manifest, then its one
// provenance blob. The answer, including "none", is cached by the
// attestation's digest.
func (r *Resolver) provenanceOf(ctx context.Context, pinned Reference, subject Digest, access Access) *Provenance {
	if p, ok := r.provenance.Get(pinned.Digest); ok {
		return p
	}
	p, err := await(ctx, r, "provenance\x00"+pinned.Digest.String(), func(ctx context.Context) (*Provenance, error) {
		p, err := r.readProvenance(ctx, pinned, subject, access)
		if err != nil {
			return nil, err
		}
		r.provenance.Add(pinned.Digest, p, p.cost()+int64(unsafe.Sizeof(Digest{})))
		return p, nil
	})
	if err != nil {
		r.opts.Logger.Debug("build provenance not read; lineage goes without it", "attestation", pinned.String(), "error", redact(err.Error()))
		return nil
	}
	return p
}

// readProvenance fetches the attestation manifest and the first of its
// layers that is an in-toto SLSA provenance statement about subject. A
// manifest without one is answered nil, nil (cached: it will not change).
func (r *Resolver) readProvenance(ctx context.Context, pinned Reference, subject Digest, access Access) (*Provenance, error) {
	_, raw, err := r.fetchManifest(ctx, pinned, access)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("attestation manifest %s does not parse: %v", pinned.Digest, err)
	}
	// The OCI-artifact form names its subject: one naming another manifest
	// is not this image's attestation.
	if m.Subject != nil && m.Subject.Digest.String() != subject.String() {
		return nil, nil
	}
	for _, l := range m.Layers {
		if string(l.MediaType) != MediaTypeInToto || !isSLSA(l.Annotations[AnnotationPredicateType]) {
			continue
		}
		d, err := digestFromHash(l.Digest)
		if err != nil {
			return nil, nil
		}
		raw, err := r.fetchBlob(ctx, pinned, d, access)
		if err != nil {
			return nil, err
		}
		p, err := parseStatement(raw, subject)
		if err != nil {
			return nil, fmt.Errorf("provenance %s: %v", d, err)
		}
		if p != nil {
			p.Attestation = pinned.Digest
		}
		return p, nil
	}
	return nil, nil
}

func isSLSA(predicateType string) bool {
	return predicateType == PredicateSLSA02 || predicateType == PredicateSLSA1
}

// statement is an in-toto statement with the two SLSA predicates' material
// lists.
type statement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Materials       []resourceDescriptor `json:"materials"`
		BuildDefinition struct {
			ResolvedDependencies []resourceDescriptor `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
	} `json:"predicate"`
}

type resourceDescriptor struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// parseStatement reads the materials of a Statement v0.1 or v1 whose
// predicate is SLSA provenance v0.2 or v1 and whose subject is subject; it
// answers nil for a statement about something else.
func parseStatement(raw []byte, subject Digest) (*Provenance, error) {
	var st statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("the statement does not parse: %v", err)
	}
	if st.Type != StatementV01 && st.Type != StatementV1 {
		return nil, fmt.Errorf("statement type %q is not an in-toto statement strata reads (%s, %s)", st.Type, StatementV01, StatementV1)
	}
	hex := strings.TrimPrefix(subject.String(), "sha256:")
	if !slices.ContainsFunc(st.Subject, func(s struct {
		Digest map[string]string `json:"digest"`
	}) bool {
		return s.Digest["sha256"] == hex
	}) {
		return nil, nil
	}
	var deps []resourceDescriptor
	switch st.PredicateType {
	case PredicateSLSA02:
		deps = st.Predicate.Materials
	case PredicateSLSA1:
		deps = st.Predicate.BuildDefinition.ResolvedDependencies
	default:
		return nil, fmt.Errorf("predicate type %q is not SLSA provenance", st.PredicateType)
	}
	p := &Provenance{StatementType: st.Type, PredicateType: st.PredicateType}
	for _, d := range deps[:min(len(deps), maxMaterials)] {
		m := Material{URI: d.URI}
		if h := d.Digest["sha256"]; h != "" {
			m.Digest = "sha256:" + h
		}
		p.Materials = append(p.Materials, m)
	}
	return p, nil
}
