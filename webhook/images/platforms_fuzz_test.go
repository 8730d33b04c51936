package images

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// fuzzLeaf is an image of the fuzz pool: its descriptor, and the platform its
// config states ("" for none; artifact for an attestation).
type fuzzLeaf struct {
	desc     v1.Descriptor
	config   string
	artifact bool
}

// fuzzEntry is one entry of a generated index, as the oracle sees it.
type fuzzEntry struct {
	desc     v1.Descriptor
	leaf     *fuzzLeaf   // nil for a nested index
	children []fuzzEntry // a nested index's entries
}

// fuzzBytes hands out the fuzz input one byte at a time, then zeros.
type fuzzBytes []byte

func (b *fuzzBytes) next() int {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return int(v)
}

// fuzzListed are the platforms a generated entry may be listed under, true or not.
var fuzzListed = []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386", "linux/arm64", "linux/arm64/v8.2",
	"linux/arm/v7", "linux/arm/v6", "linux/arm", "windows/amd64", "linux/s390x", "unknown/unknown"}

// fuzzConfigured are the resolver's platforms, and fuzzNodes the nodes the
// oracle pulls for: written out here, apart from nodesOf, so that the test
// does not grade the code by itself.
var (
	fuzzConfigured = []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}
	fuzzNodes      = []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4",
		"linux/arm64", "linux/arm64/v8.1", "linux/arm64/v8.2", "linux/arm64/v8.5", "linux/arm64/v9", "linux/arm64/v9.3", "linux/arm/v7"}
)

// buildFuzzIndex generates the entries of an index (and pushes every index
// nested in it) from the fuzz input.
func buildFuzzIndex(t testing.TB, reg *testRegistry, pool []*fuzzLeaf, in *fuzzBytes, depth int) []fuzzEntry {
	n := 1 + in.next()%5
	out := make([]fuzzEntry, 0, n)
	for range n {
		shape := in.next()
		var e fuzzEntry
		if depth < defaultMaxIndexDepth+1 && shape%5 == 0 {
			e.children = buildFuzzIndex(t, reg, pool, in, depth+1)
			descs := make([]v1.Descriptor, len(e.children))
			for i, c := range e.children {
				descs[i] = c.desc
			}
			e.desc = pushRawIndex(t, reg, "fuzz/app", "", descs...)
		} else {
			e.leaf = pool[in.next()%len(pool)]
			e.desc = e.leaf.desc
		}
		switch p := in.next() % (len(fuzzListed) + 3); {
		case p == len(fuzzListed):
			// no platform
		case p > len(fuzzListed) && e.leaf != nil && e.leaf.config != "":
			e.desc = withPlatform(t, e.desc, e.leaf.config) // the truth
		case p < len(fuzzListed):
			e.desc = withPlatform(t, e.desc, fuzzListed[p])
		}
		if shape&0x40 != 0 {
			e.desc.Annotations = map[string]string{"vnd.docker.reference.type": "attestation-manifest"}
		}
		out = append(out, e)
	}
	return out
}

// containerdPulls is what containerd's images.Manifest does on a node of
// platform node: among the entries whose platform matches (or that state
// none), sorted best first with those without a platform last, it takes the
// first; it walks into an index; it takes an entry without a platform only
// if its config's os/architecture match the node.
func containerdPulls(node specs.Platform, entries []fuzzEntry) (leaves []*fuzzLeaf, descs []v1.Descriptor) {
	m := platforms.Only(node)
	var cands []fuzzEntry
	for _, e := range entries {
		if e.desc.Platform == nil || m.Match(specOfTest(*e.desc.Platform)) {
			cands = append(cands, e)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].desc.Platform == nil {
			return false
		}
		if cands[j].desc.Platform == nil {
			return true
		}
		return m.Less(specOfTest(*cands[i].desc.Platform), specOfTest(*cands[j].desc.Platform))
	})
	if len(cands) == 0 {
		return nil, nil
	}
	first := cands[0]
	if first.leaf == nil {
		return containerdPulls(node, first.children)
	}
	if first.desc.Platform == nil {
		if first.leaf.artifact || first.leaf.config == "" {
			return nil, nil
		}
		p, _ := v1.ParsePlatform(first.leaf.config)
		if !m.Match(platforms.Normalize(specs.Platform{OS: p.OS, Architecture: p.Architecture})) {
			return nil, nil
		}
	}
	return []*fuzzLeaf{first.leaf}, []v1.Descriptor{first.desc}
}

func specOfTest(p v1.Platform) specs.Platform {
	return specs.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion, OSFeatures: p.OSFeatures}
}

// lies reports whether some entry of the tree is listed under a platform its
// config contradicts (os or architecture, or both variants stated).
func lies(entries []fuzzEntry) bool {
	for _, e := range entries {
		if e.leaf == nil {
			if lies(e.children) {
				return true
			}
			continue
		}
		if e.desc.Platform == nil || e.leaf.config == "" || e.leaf.artifact {
			continue
		}
		cfg, _ := v1.ParsePlatform(e.leaf.config)
		l := platforms.Normalize(specOfTest(*e.desc.Platform))
		c := platforms.Normalize(specOfTest(*cfg))
		if l.OS != c.OS || l.Architecture != c.Architecture || (e.desc.Platform.Variant != "" && cfg.Variant != "" && l.Variant != c.Variant) {
			return true
		}
	}
	return false
}

// listsArtifact reports an attestation listed under a real platform.
func listsArtifact(entries []fuzzEntry) bool {
	for _, e := range entries {
		if e.leaf == nil && listsArtifact(e.children) ||
			e.leaf != nil && e.leaf.artifact && e.desc.Platform != nil && e.desc.Platform.OS != "unknown" {
			return true
		}
	}
	return false
}

// pullsNothing reports an index no configured node pulls an image from.
func pullsNothing(entries []fuzzEntry) bool {
	for _, n := range fuzzNodes {
		node, _ := platforms.Parse(n)
		if leaves, _ := containerdPulls(node, entries); len(leaves) > 0 {
			return false
		}
	}
	return true
}

func treeDepth(entries []fuzzEntry) int {
	d := 1
	for _, e := range entries {
		if e.leaf == nil {
			d = max(d, 1+treeDepth(e.children))
		}
	}
	return d
}

// FuzzPlatformSelection builds random indexes (nested, entries without a
// platform, attestation annotations, entries whose platform their config
// contradicts, duplicate digests) in an in-process registry, and checks that
// every manifest containerd would pull on a node of a configured platform
// was evaluated, or that the image was refused for a reason it has.
func FuzzPlatformSelection(f *testing.F) {
	reg := newTestRegistry(f)
	r := newTestResolver(f, reg, Options{Platforms: fuzzConfigured})
	var pool []*fuzzLeaf
	for _, p := range []string{"linux/amd64", "linux/amd64/v3", "linux/386", "linux/arm64", "linux/arm64/v8.2",
		"linux/arm/v7", "linux/arm/v6", "windows/amd64", "linux/s390x", ""} {
		pool = append(pool, &fuzzLeaf{desc: pushDesc(f, reg, "fuzz/app", testImage(f, 1, "root", p)), config: p})
	}
	pool = append(pool, &fuzzLeaf{desc: pushDesc(f, reg, "fuzz/app", attestationImage(f)), artifact: true})

	// Input: an index is a count byte (1 + n%5 entries), then per entry a
	// shape byte (n%5 == 0 nests an index, 0x40 annotates it as an
	// attestation), a pool index for an image, and a platform choice (an
	// index into fuzzListed, 12 for none, 13 and 14 for the config's own).
	f.Add([]byte{1, 1, 0, 12, 1, 3, 12})           // amd64 and arm64 entries without a platform
	f.Add([]byte{1, 0x42, 0, 0, 1, 3, 4})          // a real linux/amd64 entry annotated as an attestation
	f.Add([]byte{1, 0, 0, 1, 0, 0, 0, 1, 3, 4})    // linux/amd64 pointing to a nested index
	f.Add([]byte{1, 1, 7, 0, 1, 3, 4})             // a windows config listed as linux/amd64
	f.Add([]byte{2, 1, 0, 14, 1, 1, 14, 1, 2, 14}) // amd64, amd64/v3 and 386, listed truly
	f.Add([]byte{2, 1, 0, 0, 1, 0, 9, 1, 3, 4})    // one digest listed as linux/amd64 and windows/amd64
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // indexes nested beyond the bound
	f.Add([]byte{1, 1, 10, 11, 1, 10, 12})         // attestations only
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzBytes(data)
		tree := buildFuzzIndex(t, reg, pool, &in, 1)
		descs := make([]v1.Descriptor, len(tree))
		for i, e := range tree {
			descs[i] = e.desc
		}
		top := pushRawIndex(t, reg, "fuzz/app", "", descs...)
		image := reg.ref("fuzz/app@" + top.Digest.String())
		img, err := r.Resolve(testContext(t, 20*time.Second), image, Access{})
		if err != nil {
			switch kind := KindOf(err); {
			case kind == KindInconsistent && lies(tree):
			case kind == KindTooComplex && treeDepth(tree) > defaultMaxIndexDepth:
			case kind == KindUnsupported && (listsArtifact(tree) || pullsNothing(tree)):
				// a chosen entry that is no image, or no image at all
			default:
				t.Fatalf("Resolve(%s) = %v (%s), want facts or a refusal the index earns", image, err, kind)
			}
			return
		}
		got := evaluatedDigests(img)
		for _, n := range fuzzNodes {
			node, _ := platforms.Parse(n)
			leaves, pulled := containerdPulls(node, tree)
			for i, l := range leaves {
				if !slices.Contains(got, l.desc.Digest.String()) {
					t.Fatalf("Resolve(%s) evaluated %v (%v); a %s node pulls %s (listed %v, config %q), which was not evaluated",
						image, got, platformsOf(img), n, l.desc.Digest, pulled[i].Platform, l.config)
				}
			}
		}
	})
}
