package lineage

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/strata-project/strata/webhook/images"
)

// node is one known platform image of the catalog: current or remembered
// from a tag's history.
type node struct {
	digest   images.Digest
	platform string
	diffIDs  []images.Digest
	role     string
	// names are the canonical references that name the node: tags that point
	// or pointed to it, or a digest reference.
	names []string
}

// tagState is a catalog tag: its role and what it points to now, per platform.
type tagState struct {
	role    string
	current resolution
}

// resolution is what a tag points to, per platform, sorted by platform. A
// platform may have more than one manifest: an index can list two for one
// platform, and strata checks every one a node may pick. A catalog holds one
// per tag and per remembered move, so it is a short list rather than a map
// (a Go map of one platform takes a table of 8 slots).
type resolution []platformImages

type platformImages struct {
	platform string
	digests  []images.Digest
}

// get returns the manifests the tag points to on platform.
func (r resolution) get(platform string) ([]images.Digest, bool) {
	i, ok := slices.BinarySearchFunc(r, platform, func(p platformImages, platform string) int { return strings.Compare(p.platform, platform) })
	if !ok {
		return nil, false
	}
	return r[i].digests, true
}

// add records d for platform, once.
func (r resolution) add(platform string, d images.Digest) resolution {
	i, ok := slices.BinarySearchFunc(r, platform, func(p platformImages, platform string) int { return strings.Compare(p.platform, platform) })
	if !ok {
		return slices.Insert(r, i, platformImages{platform: platform, digests: []images.Digest{d}})
	}
	if !slices.Contains(r[i].digests, d) {
		r[i].digests = append(r[i].digests, d)
	}
	return r
}

// equal reports the same manifests, in the same order, on the same platforms.
func (r resolution) equal(o resolution) bool {
	return slices.EqualFunc(r, o, func(a, b platformImages) bool {
		return a.platform == b.platform && slices.Equal(a.digests, b.digests)
	})
}

// movedFrom reports whether the tag points elsewhere than d on platform
// now, and to what.
func (r resolution) movedFrom(platform string, d images.Digest) (images.Digest, bool) {
	now, ok := r.get(platform)
	if !ok || slices.Contains(now, d) {
		return images.Digest{}, false
	}
	return now[0], true
}

// index is an immutable view of the catalog, swapped whole on refresh.
//
// Matching hashes each prefix of the image's diff IDs once, chaining the
// hash of the previous prefix, and looks each up: O(layers of the image),
// whatever the catalog size. The catalog stores one entry per image, under
// the hash of its whole diff ID list. A hit is confirmed by comparing the
// layers, so a hash collision can never make an image look approved.
type index struct {
	seed     maphash.Seed
	byPrefix map[uint64][]*node
	byDigest map[images.Digest]*node
	tags     map[string]*tagState
}

func newIndex(seed maphash.Seed, nodes []*node, tags map[string]*tagState) *index {
	ix := &index{
		seed:     seed,
		byPrefix: make(map[uint64][]*node, len(nodes)),
		byDigest: make(map[images.Digest]*node, len(nodes)),
		tags:     tags,
	}
	for _, n := range nodes {
		if len(n.diffIDs) == 0 {
			continue
		}
		h := prefixHashes(seed, n.diffIDs, nil)[len(n.diffIDs)-1]
		ix.byPrefix[h] = append(ix.byPrefix[h], n)
		ix.byDigest[n.digest] = n
	}
	return ix
}

// prefixHashes returns, for k = 1..len(ids), the hash of ids[:k]; out is
// reused when it has room.
func prefixHashes(seed maphash.Seed, ids []images.Digest, out []uint64) []uint64 {
	out = out[:0]
	var buf [8 + 32]byte
	var h uint64
	for _, id := range ids {
		binary.LittleEndian.PutUint64(buf[:8], h)
		copy(buf[8:], id[:])
		h = maphash.Bytes(seed, buf[:])
		out = append(out, h)
	}
	return out
}

// ancestors returns the catalog images whose layers are a proper prefix of
// ids, or equal to them with another digest, shortest first; and the node
// of the image itself when it is in the catalog.
func (ix *index) ancestors(self images.Digest, ids []images.Digest) (found []*node, selfNode *node) {
	var buf [32]uint64
	for k, h := range prefixHashes(ix.seed, ids, buf[:0]) {
		for _, n := range ix.byPrefix[h] {
			if len(n.diffIDs) != k+1 || !slices.Equal(n.diffIDs, ids[:k+1]) {
				continue
			}
			if n.digest == self {
				selfNode = n
				continue
			}
			found = append(found, n)
		}
	}
	return found, selfNode
}

// isCurrent reports whether every tag that ever named n still points to
// it. A moved tag means a rebuilt (usually patched) base exists, even if a
// dated tag still points here; that tag and the digest it points to now
// are returned.
func (ix *index) isCurrent(n *node) (current bool, moved string, now images.Digest) {
	for _, name := range n.names {
		st, ok := ix.tags[name]
		if !ok {
			continue // a digest reference never moves
		}
		if now, moved := st.current.movedFrom(n.platform, n.digest); moved {
			return false, name, now
		}
	}
	return true, "", images.Digest{}
}
