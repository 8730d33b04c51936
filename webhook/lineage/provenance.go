package lineage

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/strata-project/strata/webhook/images"
)

// maxProvenanceCandidates bounds the images of one build's provenance that
// are fetched and checked: a build uses a base and a few stage images; the
// rest of a longer list is recorded unchecked.
const maxProvenanceCandidates = 8

// provenanceClaims turns the images a build's provenance lists into base
// claims, each to be verified against the layers like an annotation's:
// only one of them (at most) is the base, the others are builder stages.
func provenanceClaims(f *images.Facts) []Claim {
	if f.Provenance == nil {
		return nil
	}
	var out []Claim
	for _, m := range f.Provenance.Materials {
		if !strings.HasPrefix(m.URI, "pkg:docker/") {
			continue // a Git or HTTP context, a local pkg:oci context: not an image strata can read
		}
		cl := Claim{By: f.Digest, Source: SourceProvenance, Digest: m.Digest}
		name, digest, err := parseDockerPURL(m.URI)
		switch {
		case err != nil:
			cl.Name, cl.Status, cl.Reason = m.URI, ClaimUnreachable, err.Error()
		case cl.Digest == "":
			cl.Name, cl.Digest = name, digest
		default:
			cl.Name = name
		}
		if len(out) >= maxProvenanceCandidates && cl.Status == "" {
			cl.Status, cl.Reason = ClaimUnreachable, fmt.Sprintf("not checked: strata checks the first %d images a build's provenance lists", maxProvenanceCandidates)
		}
		out = append(out, cl)
	}
	return out
}

// parseDockerPURL reads the image reference of a pkg:docker package URL as
// BuildKit writes it (util/purl): pkg:docker/<namespace>/<name>@<version>,
// the version a tag or (without a tag) a digest, a digest qualifier when
// the build pinned a tagged reference. It returns the reference written
// back as an image name (repository[:tag]) and the digest, "" when none.
func parseDockerPURL(uri string) (name, digest string, err error) {
	rest := strings.TrimPrefix(uri, "pkg:docker/")
	rest, query, _ := strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	repo, version, _ := strings.Cut(rest, "@")
	if repo, err = url.PathUnescape(repo); err != nil || repo == "" {
		return "", "", fmt.Errorf("the package URL %q names no image", uri)
	}
	if version, err = url.PathUnescape(version); err != nil {
		return "", "", fmt.Errorf("the package URL %q has an unreadable version", uri)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", "", fmt.Errorf("the package URL %q has unreadable qualifiers", uri)
	}
	name, digest = repo, q.Get("digest")
	switch {
	case strings.HasPrefix(version, "sha256:"):
		digest = version
	case version != "":
		name += ":" + version
	}
	if _, err := images.ParseReference(name); err != nil {
		return "", "", fmt.Errorf("the package URL %q: %w", uri, err)
	}
	return name, digest, nil
}
