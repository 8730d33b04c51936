package images

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/strata-project/strata/internal/testutil"
)

// The registry bounds docs/security.md states (requests in flight, index
// size, stale resolutions, remembered failures, sessions, response headers,
// error bodies, cloud token failures) are the resolver's defaults.
func TestSecurityDocStatesTheResolversBounds(t *testing.T) {
	t.Parallel()
	r := newTestResolver(t, newTestRegistry(t), Options{})
	if r.opts.StaleTTL != time.Hour {
		t.Errorf("StaleTTL = %v; docs/security.md says warn and audit may use a resolution up to one hour past its TTL", r.opts.StaleTTL)
	}
	cloud := newCloudKeychain(CloudOptions{}, r)
	headers := newBaseTransport(nil).MaxResponseHeaderBytes
	testutil.DocStates(t, "../../docs/security.md",
		"Warn and audit may use a resolution up to one hour past its TTL",
		fmt.Sprintf("Registry requests in flight are bounded at %d per host and %d in all", r.opts.MaxRequestsPerHost, r.opts.MaxRequests),
		fmt.Sprintf("an index past %d entries or %d levels of nesting is one `image-resolution` violation (`too-complex`)", defaultMaxIndexEntries, defaultMaxIndexDepth),
		fmt.Sprintf("operators get the first %s bytes at debug level", testutil.Thousands(maxLoggedErrorBody)),
		fmt.Sprintf("a redacted message cut at %d bytes", maxRememberedMessage),
		fmt.Sprintf("registry response headers are capped at %d KiB", headers>>10),
		fmt.Sprintf("costed at %d KiB each", sessionCost>>10),
		fmt.Sprintf("failures kept %d s", cloud.opts.FailureTTL/time.Second),
		fmt.Sprintf("read again on each admission (at most %d per pod, class 4)", maxPullSecrets),
	)
}

// docs/security.md class 8 lists the addresses refused everywhere: each
// is refused, from the first to the last address of a range, and the
// addresses beside them are not.
func TestSecurityDocListsTheAddressesStrataRefuses(t *testing.T) {
	t.Parallel()
	m := testutil.DocMatch(t, "../../docs/security.md", "link-local ranges \\(([^)]*)\\), AWS's `([^`]+)`, Alibaba Cloud's `([^`]+)` and Azure's WireServer `([^`]+)`")
	prefixes := strings.Split(m[1], ", ")
	for _, a := range m[2:] {
		prefixes = append(prefixes, a+"/"+fmt.Sprint(netip.MustParseAddr(a).BitLen()))
	}
	for _, s := range prefixes {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			t.Fatalf("docs/security.md lists %q: %v", s, err)
		}
		first := p.Masked().Addr()
		// The last address of the range: every host bit set.
		b := first.AsSlice()
		for i := range b {
			hostBits := max(0, min(8, (i+1)*8-p.Bits()))
			b[i] |= byte(1<<hostBits - 1)
		}
		last, _ := netip.AddrFromSlice(b)
		for _, a := range []netip.Addr{first, last} {
			if !forbiddenAddr(a) {
				t.Errorf("docs/security.md says %s is refused everywhere; forbiddenAddr(%s) = false", s, a)
			}
		}
		for _, a := range []netip.Addr{first.Prev(), last.Next()} {
			if a.IsValid() && forbiddenAddr(a) {
				t.Errorf("forbiddenAddr(%s) = true, beside %s: docs/security.md lists no such address", a, s)
			}
		}
	}
}

// docs/security.md class 1 states which nodes a configured platform
// without a variant stands for: the variants nodesOf expands it to.
func TestSecurityDocStatesTheNodesAPlatformStandsFor(t *testing.T) {
	t.Parallel()
	amd64, arm, arm64 := nodeVariants["amd64"], nodeVariants["arm"], nodeVariants["arm64"]
	// containerd writes amd64's v1 as no variant.
	if amd64[0] != "" {
		t.Errorf("nodeVariants[amd64] = %q, want the v1 level first, written as no variant", amd64)
	}
	majors := map[string]bool{}
	for _, v := range arm64[1:] {
		major, _, _ := strings.Cut(v, ".")
		majors[major] = true
	}
	// An arm64 node without a variant is v8: containerd's default.
	if arm64[0] != "" || len(majors) != 2 || !majors["v8"] || !majors["v9"] {
		t.Errorf("nodeVariants[arm64] = %q, want no variant (v8) and v8.x and v9.x variants only", arm64)
	}
	testutil.DocStates(t, "../../docs/security.md", fmt.Sprintf("every amd64 level v1–%s, every arm64 v8.x/v9.x variant, arm %s–%s", amd64[len(amd64)-1], arm[0], arm[len(arm)-1]))
	if n := len(nodesOf(v1.Platform{OS: "linux", Architecture: "arm64"})); n != len(arm64) {
		t.Errorf("nodesOf(linux/arm64) = %d nodes, want the %d of nodeVariants", n, len(arm64))
	}
}

// docs/security.md class 17: each kind of entry has its own share of the
// budget, so a flood of one kind (remembered failures, here far past their
// share) evicts none of another's: the facts of an image resolved by digest
// before the flood are still cached after it, and resolving it again reads
// no manifest or config (a reference's resolution shares the failures'
// share, so the digest may be checked again with one HEAD).
func TestAFloodOfFailuresEvictsNoImageFacts(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	d := reg.push(t, "real/app:1", testImage(t, 1, "1000", "linux/amd64"))
	const budget = 256 << 10
	r := newTestResolver(t, reg, Options{CacheBytes: budget, NotFoundTTL: time.Hour})
	ctx := testContext(t, time.Minute)
	pinned := reg.ref("real/app@" + d.String())
	if _, err := r.Resolve(ctx, pinned, Access{}); err != nil {
		t.Fatal(err)
	}
	reg.takeRequests()
	before := r.facts.Len()
	// Each remembered failure is costed at 512 bytes and more: this many
	// hold several times the failures' share.
	for i := range 4 * budget / maxRememberedMessage * cacheShares.refs / 100 {
		resolveMissing(t, ctx, r, reg.ref(fmt.Sprintf("flood/app:missing-%d", i)))
	}
	if r.refs.Bytes() > share(budget, cacheShares.refs) {
		t.Errorf("the remembered failures hold %d bytes, past their share of %d", r.refs.Bytes(), share(budget, cacheShares.refs))
	}
	reg.takeRequests()
	if _, err := r.Resolve(ctx, pinned, Access{}); err != nil {
		t.Fatal(err)
	}
	got := reg.takeRequests()
	if slices.ContainsFunc(got, func(req string) bool { return !strings.HasPrefix(req, "HEAD ") }) || r.facts.Len() != before {
		t.Errorf("after a flood of failing tags, Resolve(%s) sent %q and %d facts are cached (%d before); want the facts it had, and no GET", pinned, got, r.facts.Len(), before)
	}
}
