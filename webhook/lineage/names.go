package lineage

import (
	"slices"
	"strings"

	"github.com/strata-project/strata/webhook/images"
)

// Names are attached to digests only by a source that saw them together: the
// catalog, which watched a tag point to a digest. Every other source of a
// base (a verified base claim today, build provenance later) identifies the
// base by its digest alone; the name it gives is kept as ClaimedName, which
// neither approved-base patterns nor roles ever read. A claimed tag may still
// say that the base is stale (its tag points elsewhere now): a false claim
// can only add a warning, never an allow.

// sourcedBase is a base found by a source other than the catalog: the digest
// the source proved (a claim's layers are a prefix of the claimant's), and
// the name it gave.
type sourcedBase struct {
	digest   images.Digest
	platform string
	layers   int
	// name is the base as the source names it: repository:tag, or the
	// repository alone when the source names no tag (never an invented
	// :latest).
	name string
	// tag is the canonical repository:tag the source names, "" when it names none.
	tag string
	// now is where tag points today, read from the registry, when that is
	// elsewhere than digest.
	now images.Digest
	// evidence lists the sources that named the base and were verified
	// (EvidenceAnnotation, EvidenceProvenance).
	evidence []string
}

// namedBy returns the canonical name a source gives a base, and the tag in
// it: "registry/repo:tag" when the written name has a tag, "registry/repo"
// and no tag when it has none (a bare repository or repository@digest).
func namedBy(written string, ref images.Reference) (name, tag string) {
	if !hasWrittenTag(written) {
		return ref.Name(), ""
	}
	return ref.TagString(), ref.TagString()
}

// hasWrittenTag reports whether an image reference spells a tag; parsing
// fills in "latest" when it does not, which no one claimed.
func hasWrittenTag(written string) bool {
	rest, _, _ := strings.Cut(written, "@")
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		rest = rest[i+1:]
	}
	return strings.Contains(rest, ":")
}

// sourcedEntry returns the chain entry of a base no catalog image of the
// same layers names: the catalog's names and role when it knows this digest
// (a tag pointed to it), otherwise the digest alone; the source's name as
// ClaimedName unless the catalog names the base so itself.
func (ix *index) sourcedEntry(b sourcedBase, evidence ...string) *Entry {
	e := &Entry{Digest: b.digest, Layers: b.layers, Evidence: slices.Clone(evidence), Current: true}
	if n, ok := ix.byDigest[b.digest]; ok {
		e = ix.entry(n, evidence...)
	}
	ix.addSourcedName(e, b)
	return e
}

// addSourcedName records what a source says of the base at e: its name, as
// claimed, and whether the tag it names has moved. It never adds a ref or a
// role.
func (ix *index) addSourcedName(e *Entry, b sourcedBase) {
	if e.ClaimedName == "" && !slices.Contains(e.Refs, b.name) {
		e.ClaimedName = b.name
	}
	ix.markSourcedTagMoved(e, b)
}

// markSourcedTagMoved marks e not current when the tag the source names
// points elsewhere now, by the catalog or by the registry: the only thing a
// claimed name may say, since a false one then only adds a warning.
func (ix *index) markSourcedTagMoved(e *Entry, b sourcedBase) {
	if !e.Current || b.tag == "" {
		return
	}
	if st, known := ix.tags[b.tag]; known {
		if now, moved := st.current.movedFrom(b.platform, b.digest); moved {
			e.Current, e.MovedTag, e.CurrentDigest = false, b.tag, now
			return
		}
	}
	if !b.now.IsZero() {
		e.Current, e.MovedTag, e.CurrentDigest = false, b.tag, b.now
	}
}
