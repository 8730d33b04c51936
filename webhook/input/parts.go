package input

import (
	"bufio"
	"crypto/sha256"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/lru"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// DefaultPartsBytes is the input parts' budget when none is given: their
// share of the chart's cache.maxBytes (64Mi), at some 10 KiB an image about
// 300 images and their lineages. strata serve passes its share of
// cache.maxBytes.
const DefaultPartsBytes = 4 << 20

// Parts remembers the image and lineage parts of recent inputs. An image's
// facts on one platform, and its lineage, are the same for every container,
// pod and request that runs it, and building them (history, config,
// layers, chain) and hashing them for the policies' result cache is most of
// an evaluation's cost when the result is cached: built once, a part is
// shared by every input that names it. It is safe for concurrent use; a nil
// *Parts builds every part anew.
type Parts struct {
	entries    *lru.Cache[partKey, policy.Part]
	lineages   *lru.Cache[lineageKey, policy.Part]
	containers *lru.Cache[containerKey, policy.Part]
}

// partKey is everything the image part is built from. Facts are immutable
// for their platform manifest (webhook/images shares them through its
// cache), so their reference, digest and platform name them; the rest is
// the image as this request resolved it, and the one number the lineage
// adds (the layers of the direct base, for baseSize).
type partKey struct {
	factsRef    string
	factsDigest images.Digest
	platform    string
	ref         string
	digest      images.Digest
	stale       bool
	staleReason string
	baseLayers  int
}

// containerKey is everything the container part is built from: the pods
// of one workload, and of its every rollout that keeps the container, name
// the same container.
type containerKey struct {
	name, typ, image, os       string
	runAsUser, runAsGroup      int64
	hasUser, hasGroup, hasRoot bool
	nonRoot, hasWindowsUser    bool
	windowsUser                string
}

func containerKeyOf(c workload.Container) containerKey {
	k := containerKey{name: c.Name, typ: c.Type, image: c.Image, os: c.OS}
	sc := c.SecurityContext
	if sc.RunAsUser != nil {
		k.hasUser, k.runAsUser = true, *sc.RunAsUser
	}
	if sc.RunAsGroup != nil {
		k.hasGroup, k.runAsGroup = true, *sc.RunAsGroup
	}
	if sc.RunAsNonRoot != nil {
		k.hasRoot, k.nonRoot = true, *sc.RunAsNonRoot
	}
	if sc.WindowsRunAsUserName != nil {
		k.hasWindowsUser, k.windowsUser = true, *sc.WindowsRunAsUserName
	}
	return k
}

// share is a fraction of the parts' budget.
type share struct{ num, den int64 }

func (s share) of(maxBytes int64) int64 { return maxBytes / s.den * s.num }

// partsShares split the parts' budget between the three caches
// (docs/images.md states them).
var partsShares = struct{ images, lineages, containers share }{share{5, 8}, share{1, 4}, share{1, 8}}

// NewParts returns a cache of parts costing at most maxBytes
// (DefaultPartsBytes when 0 or less): 5/8 for images, 1/4 for lineages,
// 1/8 for containers.
func NewParts(maxBytes int64) *Parts {
	if maxBytes <= 0 {
		maxBytes = DefaultPartsBytes
	}
	return &Parts{
		entries:    lru.New[partKey, policy.Part](0, partsShares.images.of(maxBytes)),
		lineages:   lru.New[lineageKey, policy.Part](0, partsShares.lineages.of(maxBytes)),
		containers: lru.New[containerKey, policy.Part](0, partsShares.containers.of(maxBytes)),
	}
}

// Input is s.Value(), with the container, image and lineage parts taken
// from p when s's image was resolved; the rest of the input is built only
// if the policies' result is not cached.
func (p *Parts) Input(s *Subject) policy.Input {
	if p == nil || s.Err != nil || s.Facts == nil || s.Image == nil {
		return s.Value()
	}
	f := s.Facts
	key := partKey{
		factsRef: f.Ref, factsDigest: f.Digest, platform: f.Platform,
		ref: s.Image.Ref, digest: s.Image.Digest, stale: s.Image.Stale, staleReason: s.Image.StaleReason(),
		baseLayers: baseLayers(s.Lineage),
	}
	image, ok := p.entries.Get(key)
	if !ok {
		image = policy.NewPart(s.imageValue())
		p.entries.Add(key, image, partCost(key.bytes(), image.Term()))
	}
	lin := p.lineagePart(s.Lineage)
	ck := containerKeyOf(s.Container)
	ctr, ok := p.containers.Get(ck)
	if !ok {
		ctr = policy.NewPart(containerValue(s.Container))
		p.containers.Add(ck, ctr, partCost(ck.bytes(), ctr.Term()))
	}
	// The rest is built, if at all, during the evaluation this input is
	// for; s changes after it (the next platform), so what the rest is
	// made of is taken now.
	common, req, w := s.Common, s.Request, s.Workload
	rest := func() [][2]*ast.Term {
		alone := Subject{Request: req, Workload: w, Common: common}
		request, workload := alone.common()
		return [][2]*ast.Term{
			item("apiVersion", ast.String(APIVersion)),
			{ast.StringTerm("request"), request},
			{ast.StringTerm("workload"), workload},
		}
	}
	return policy.ObjectOf(rest, policy.NamedPart{Key: "container", Part: ctr},
		policy.NamedPart{Key: "image", Part: image}, policy.NamedPart{Key: "lineage", Part: lin})
}

// lineageKey names a lineage part: by its fingerprint (sum), and also by
// the lineage's ID when the catalog remembers it (id; it serves that same
// lineage, unchanged, under that ID). Hashing every lineage each time it
// was served was a tenth of a warm admission's evaluation; the part found
// by fingerprint the first time is shared by every lineage of that content.
type lineageKey struct {
	id  uint64
	sum [sha256.Size]byte
}

// lineagePart is l's part: by its ID, or by its fingerprint, or built. The
// part kept under an ID is counted whole, as if not shared, so that the
// budget holds whichever key outlives the other.
func (p *Parts) lineagePart(l lineage.Lineage) policy.Part {
	byID := lineageKey{id: l.ID}
	if l.ID != 0 {
		if part, ok := p.lineages.Get(byID); ok {
			return part
		}
	}
	bySum := lineageKey{sum: fingerprint(l)}
	part, ok := p.lineages.Get(bySum)
	if !ok {
		part = policy.NewPart(lineageValue(l))
		p.lineages.Add(bySum, part, partCost(int64(unsafe.Sizeof(bySum)), part.Term()))
	}
	if l.ID != 0 {
		p.lineages.Add(byID, part, partCost(int64(unsafe.Sizeof(byID)), part.Term()))
	}
	return part
}

// fingerprint is the SHA-256 of everything lineageValue reads of l. Lineages
// are computed per request (the catalog moves), so they are named by what
// they hold, not by where they came from; TestFingerprintReadsEveryField
// holds it to every field of Lineage, Entry and Claim.
func fingerprint(l lineage.Lineage) [sha256.Size]byte {
	return policy.Digest(func(b *bufio.Writer) {
		w := fingerprinter{b}
		w.int(l.Depth)
		w.bool(l.Complete)
		w.int(len(l.Chain))
		for _, e := range l.Chain {
			w.entry(e)
		}
		w.bool(l.Self != nil)
		if l.Self != nil {
			w.entry(*l.Self)
		}
		w.int(len(l.Claims))
		for _, c := range l.Claims {
			policy.WriteDigest(w.w, c.By)
			w.strings(c.Name, c.Digest, c.Source, c.Status, c.Reason)
		}
	})
}

type fingerprinter struct{ w *bufio.Writer }

func (w *fingerprinter) int(n int) {
	policy.WriteUvarint(w.w, uint64(n))
}

func (w *fingerprinter) bool(b bool) {
	if b {
		_ = w.w.WriteByte(1)
	} else {
		_ = w.w.WriteByte(0)
	}
}

// strings writes each string with its length first, so that no two lists
// write the same bytes.
func (w *fingerprinter) strings(ss ...string) {
	for _, s := range ss {
		w.int(len(s))
		_, _ = w.w.WriteString(s)
	}
}

func (w *fingerprinter) list(ss []string) {
	w.int(len(ss))
	w.strings(ss...)
}

func (w *fingerprinter) entry(e lineage.Entry) {
	w.list(e.Refs)
	w.list(e.Evidence)
	w.list(e.Sources)
	w.strings(e.ClaimedName, e.Role, e.Verified, e.MovedTag)
	policy.WriteDigest(w.w, e.Digest)
	policy.WriteDigest(w.w, e.CurrentDigest)
	w.int(e.Layers)
	w.bool(e.Current)
}

func (k partKey) bytes() int64 {
	return int64(len(k.factsRef) + len(k.platform) + len(k.ref) + len(k.staleReason) + 2*len(images.Digest{}))
}

func (k containerKey) bytes() int64 {
	return int64(len(k.name)+len(k.typ)+len(k.image)+len(k.os)+len(k.windowsUser)) + 24
}

// partCost estimates what a part holds: its key, a term and its value for
// every node, and the bytes of its strings, which it shares with the facts
// while they are cached and keeps alive after.
func partCost(keyBytes int64, t *ast.Term) int64 {
	n := keyBytes + partOverhead
	ast.WalkTerms(t, func(t *ast.Term) bool {
		n += termBytes
		if s, ok := t.Value.(ast.String); ok {
			n += int64(len(s))
		}
		return false
	})
	return n
}

// partOverhead is what a part costs whatever its size: its entry in the
// cache (the key, the list element, the map slot) and its object's hash
// table. A heap profile at full scale found small parts held more than
// their nodes were charged.
const partOverhead = 384

// termBytes is what one node of an OPA value costs: the term, its value
// and its share of the collection holding it (measured by
// TestPartCostCoversWhatAPartHolds).
const termBytes = 72
