package images

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/strata-project/strata/internal/testutil"
)

const imagesMd = "../../docs/images.md"

// docs/images.md states the resolver's numbers in its prose: each sentence
// is written here from the constant or default the code uses, so that a
// changed number, in the page or in the code, fails here.
// (TestResolverDefaultsAreWhatImagesMdStates holds the same defaults to
// fixed values; this test holds the page to the code.)
func TestImagesMdStatesTheResolversNumbers(t *testing.T) {
	t.Parallel()
	r := newTestResolver(t, newTestRegistry(t), Options{}).opts
	b := newTestResolver(t, newTestRegistry(t), Options{}).backoff
	doc := testutil.DocProse(t, imagesMd)
	for _, sentence := range []string{
		fmt.Sprintf("the 4 KiB reference, %d index entries %d deep, %d pull secrets, %d and %d requests in flight, the %d MiB body, the %d m tag TTL, %d s for a \"not found\", %d h of stale-if-error",
			r.MaxIndexEntries, r.MaxIndexDepth, maxPullSecrets, r.MaxRequests, r.MaxRequestsPerHost, r.MaxBodyBytes>>20, r.TagTTL/time.Minute, r.NotFoundTTL/time.Second, r.StaleTTL/time.Hour),
		fmt.Sprintf("references over %d KiB", MaxReferenceLength>>10),
		fmt.Sprintf("a node of a configured platform (`platforms`, default `%s`)", strings.Join(DefaultPlatforms(), "`, `")),
		fmt.Sprintf("at most %d index entries are read for one image", r.MaxIndexEntries),
		fmt.Sprintf("indexes are walked at most %d deep", r.MaxIndexDepth),
		fmt.Sprintf("The manifests and configs an index walk reads are read at most %d at a time", walkFetches),
		fmt.Sprintf("values out of range (above %d, the Kubernetes limit)", maxID),
		fmt.Sprintf("It reads at most %d of them", maxPullSecrets),
		fmt.Sprintf("each costed at %d KiB plus its names); a session is replaced after %s", sessionCost>>10, anHour(t, pullerTTL)),
		fmt.Sprintf("reused by every repository's session for %s", anHour(t, pullerTTL)),
		fmt.Sprintf("%d per host and %d in all", r.MaxRequestsPerHost, r.MaxRequests),
		fmt.Sprintf("default retry sleeps (1 s, 3 s) are replaced by %d ms / %d ms", b.Duration/time.Millisecond, time.Duration(float64(b.Duration)*b.Factor)/time.Millisecond),
		fmt.Sprintf("Every response body (manifest, config, token) is capped at %d MiB", r.MaxBodyBytes>>20),
		fmt.Sprintf("(%s bytes read of a 50 MiB body, no more)", testutil.Thousands(int(r.MaxBodyBytes+1))),
		fmt.Sprintf("the resolution fails as `invalid-content`, %q", (&errTooLarge{limit: r.MaxBodyBytes}).Error()),
		fmt.Sprintf("The first %s bytes of the body", testutil.Thousands(maxLoggedErrorBody)),
		fmt.Sprintf("a resolution up to %d h past its TTL is returned marked `stale`", r.StaleTTL/time.Hour),
		fmt.Sprintf("(redacted, at most %d bytes)", maxRememberedMessage),
	} {
		if !strings.Contains(doc, sentence) {
			t.Errorf("docs/images.md does not say %q, which the code makes true", sentence)
		}
	}
}

// anHour is how docs/images.md writes a lifetime of one hour; another
// lifetime fails the test, so that the page is reworded with the code.
func anHour(t *testing.T, d time.Duration) string {
	t.Helper()
	if d != time.Hour {
		t.Errorf("a lifetime of %v, which docs/images.md states as an hour", d)
	}
	return "an hour"
}

// docs/images.md lists the kinds of *images.Error: the list is every Kind
// constant errors.go declares, in its order, no more.
func TestImagesMdListsEveryKindOfResolutionError(t *testing.T) {
	t.Parallel()
	var declared []string
	file, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if ok && spec.Type != nil && fmt.Sprint(spec.Type) == "Kind" {
			for _, v := range spec.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					declared = append(declared, s)
				}
			}
		}
		return true
	})
	m := regexp.MustCompile("Failures are `\\*images.Error` with a `Kind` \\(([^)]*)\\)").FindStringSubmatch(testutil.DocProse(t, imagesMd))
	if m == nil {
		t.Fatal("docs/images.md no longer lists the kinds of *images.Error")
	}
	var listed []string
	for _, k := range strings.Split(m[1], ", ") {
		listed = append(listed, strings.Trim(k, "`"))
	}
	if len(declared) == 0 || !slices.Equal(listed, declared) {
		t.Errorf("docs/images.md lists the kinds %q; errors.go declares %q", listed, declared)
	}
}

// The message docs/images.md gives as an example is the one strata prints
// for a registry that refuses the pod's credentials.
func TestImagesMdExampleMessageIsWhatStrataPrints(t *testing.T) {
	t.Parallel()
	e := &Error{Kind: KindUnauthorized, Image: "registry.example.com/shop/web:1", Registry: "registry.example.com", Repository: "shop/web"}
	if want := fmt.Sprintf("e.g. `%s`", e.Error()); !strings.Contains(testutil.DocProse(t, imagesMd), want) {
		t.Errorf("docs/images.md does not give the example %s", want)
	}
}

// The addresses docs/images.md says are refused at dial time are the ones
// forbiddenAddr refuses, and the ranges it names for redirects and token
// realms are the ones rangeOf classifies as such: each listed address, and
// the first and last address of each listed prefix.
func TestImagesMdNamesTheAddressesAndRangesTheGuardRefuses(t *testing.T) {
	t.Parallel()
	doc := testutil.DocProse(t, imagesMd)
	list := func(pattern string) []netip.Prefix {
		t.Helper()
		m := regexp.MustCompile(pattern).FindStringSubmatch(doc)
		if m == nil {
			t.Fatalf("docs/images.md does not say %s", pattern)
		}
		var out []netip.Prefix
		for _, s := range strings.Split(m[1], ", ") {
			out = append(out, docPrefix(t, s))
		}
		return out
	}
	for _, p := range list(`Link-local and cloud metadata addresses \(([^)]*)\) are refused at dial time`) {
		for _, a := range []netip.Addr{p.Masked().Addr(), lastAddr(p)} {
			if !forbiddenAddr(a) {
				t.Errorf("docs/images.md says %s is refused at dial time; forbiddenAddr(%s) = false", p, a)
			}
		}
	}
	for class, pattern := range map[addrRange]string{
		rangeLoopback: `loopback \(([^)]*)\)`,
		rangePrivate:  `private \(([^)]*)\) or shared CGNAT`,
		rangeShared:   `shared CGNAT \(([^)]*)\), IPv4-mapped IPv6 included`,
	} {
		for _, p := range list(pattern) {
			for _, a := range []netip.Addr{p.Masked().Addr(), lastAddr(p), netip.AddrFrom16(p.Masked().Addr().As16())} {
				if got := rangeOf(a); got != class {
					t.Errorf("docs/images.md puts %s in the %s range; rangeOf(%s) = %s", p, class, a, got)
				}
			}
		}
	}
}

// docPrefix parses an address or prefix as docs/images.md writes it:
// 10/8 is 10.0.0.0/8, an address alone is a prefix of itself.
func docPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	if addr, bits, ok := strings.Cut(s, "/"); ok && !strings.Contains(addr, ":") {
		for strings.Count(addr, ".") < 3 {
			addr += ".0"
		}
		s = addr + "/" + bits
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("docs/images.md names %q, neither an address nor a prefix", s)
	}
	return netip.PrefixFrom(a, a.BitLen())
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// docs/images.md: a registry's error body is logged at debug level, under
// the message it names, quoted, its first 1,024 bytes only, with
// truncated true when cut; and the message gets an empty body.
func TestImagesMdNamesTheLogLineOfAWithheldErrorBody(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile("logged at debug level [^(]*\\(`([^`]+)`\\), quoted, with `([^`]+)` true when cut").FindStringSubmatch(testutil.DocProse(t, imagesMd))
	if m == nil {
		t.Fatal("docs/images.md no longer names the log line of a withheld error body")
	}
	var logged bytes.Buffer
	g := &guard{logger: slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	req, _ := http.NewRequest(http.MethodGet, "https://registry.example.com/v2/app/manifests/1?token=secret", nil)
	body := strings.Repeat("x", 2*maxLoggedErrorBody)
	resp := &http.Response{StatusCode: http.StatusNotFound, Body: io.NopCloser(strings.NewReader(body))}
	if b, _ := io.ReadAll(g.withheldBody(req, resp)); len(b) != 0 {
		t.Errorf("the body go-containerregistry reads = %q, want none", b)
	}
	var line struct {
		Level, Msg, Body string
		Truncated        bool
	}
	if err := json.Unmarshal(logged.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logged.String(), err)
	}
	if line.Level != "DEBUG" || line.Msg != m[1] || line.Body != strconv.Quote(body[:maxLoggedErrorBody]) || !line.Truncated || m[2] != "truncated" {
		t.Errorf("log line = %s; want level DEBUG, msg %q, the body's first %d bytes quoted, %s", logged.String(), m[1], maxLoggedErrorBody, m[2]+" true")
	}
}

// docs/images.md: strata refuses tags beginning with . or - because
// go-containerregistry, even in strict mode, does not
// (TestParseReferenceRefuses holds strata to refusing them).
func TestImagesMdGoContainerregistryAcceptsTheTagsStrataRefuses(t *testing.T) {
	t.Parallel()
	if !strings.Contains(testutil.DocProse(t, imagesMd), "tags beginning with `.` or `-` (the OCI spec forbids them; go-containerregistry does not check)") {
		t.Fatal("docs/images.md no longer says go-containerregistry does not check tags beginning with . or -")
	}
	for _, ref := range []string{"index.docker.io/library/nginx:-bad", "index.docker.io/library/nginx:.bad"} {
		if _, err := name.ParseReference(ref, name.StrictValidation); err != nil {
			t.Errorf("go-containerregistry refuses %q itself (%v): docs/images.md says it does not check", ref, err)
		}
	}
}

// docs/images.md: an artifactType alone is a label. An image manifest that
// carries one, pulled by its tag, is checked like any other: containerd
// runs it like any other.
func TestImageManifestWithAnArtifactTypeIsChecked(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	desc := pushEdited(t, reg, "labelled/app", "1", testImage(t, 2, "root", "linux/amd64"), func(m map[string]any) {
		m["artifactType"] = "application/vnd.example.not-really+json"
	})
	img := resolveOK(t, newTestResolver(t, reg, Options{}), reg.ref("labelled/app:1"), Access{})
	if len(img.Platforms) != 1 || img.Platforms[0].Digest.String() != desc.Digest.String() || img.Platforms[0].Config.User.Raw != "root" {
		t.Errorf("Resolve(an image manifest with an artifactType) = %+v, want its facts: digest %s, user root", img.Platforms, desc.Digest)
	}
}

// docs/images.md: the config's rootfs.diff_ids must have as many entries as
// the manifest has layers; a manifest that lists one layer fewer than its
// config is invalid content, never facts.
func TestConfigListingMoreDiffIDsThanTheManifestHasLayersIsInvalidContent(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	pushEdited(t, reg, "short/app", "1", testImage(t, 3, "", "linux/amd64"), func(m map[string]any) {
		m["layers"] = m["layers"].([]any)[:2]
	})
	image := reg.ref("short/app:1")
	_, err := newTestResolver(t, reg, Options{}).Resolve(testContext(t, 10*time.Second), image, Access{})
	wantKind(t, image, err, KindInvalidContent, "lists 3 layer diff IDs for a manifest of 2 layers")
}

// docs/images.md: a registry session (and the ping answer it started
// with) is replaced after an hour, or at once when the registry answers
// 401/403, so that rotated secrets take effect; within the hour a re-check
// after the tag TTL reuses it. A new session is seen as a new ping.
func TestSessionIsReplacedAfterAnHourOrAtOnceOnARefusal(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	reg.push(t, "shop/web:1", testImage(t, 1, "1000", "linux/amd64"))
	clock := testutil.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	r := newTestResolver(t, reg, Options{Now: clock.Now})
	image := reg.ref("shop/web:1")
	resolveAfter := func(d time.Duration) (pings int, err error) {
		t.Helper()
		clock.Advance(d)
		_, err = r.Resolve(testContext(t, 10*time.Second), image, Access{})
		return reg.pings(), err
	}
	if pings, err := resolveAfter(0); err != nil || pings != 1 {
		t.Fatalf("cold Resolve(%s) = %v, %d pings; want the image, 1 ping", image, err, pings)
	}
	if pings, err := resolveAfter(pullerTTL - time.Minute); err != nil || pings != 0 {
		t.Errorf("Resolve after %v (a re-check past the tag TTL) = %v, %d pings; want the session reused, no ping", pullerTTL-time.Minute, err, pings)
	}
	// The next re-check, past the tag TTL again, comes after the hour.
	if pings, err := resolveAfter(r.opts.TagTTL + time.Second); err != nil || pings != 1 {
		t.Errorf("Resolve after %v = %v, %d pings; want a new session, 1 ping", pullerTTL-time.Minute+r.opts.TagTTL+time.Second, err, pings)
	}
	setFault(reg, onPath("/manifests/", func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	_, err := resolveAfter(r.opts.TagTTL + time.Second)
	wantKind(t, image, err, KindUnauthorized)
	reg.setWrap(nil)
	if pings, err := resolveAfter(0); err != nil || pings != 1 {
		t.Errorf("Resolve after a 401 = %v, %d pings; want a new session at once, 1 ping", err, pings)
	}
}

// docs/images.md: transient errors are never cached. An image whose
// registry answered 503 resolves as soon as the registry is back, where a
// "not found" would be remembered for its TTL.
func TestTransientFailureIsNotRemembered(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	reg.push(t, "flaky/app:1", testImage(t, 1, "", "linux/amd64"))
	r := newTestResolver(t, reg, Options{})
	image := reg.ref("flaky/app:1")
	setFault(reg, func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	_, err := r.Resolve(testContext(t, 10*time.Second), image, Access{})
	wantKind(t, image, err, KindUnavailable)
	reg.setWrap(nil)
	resolveOK(t, r, image, Access{})
}

// docs/images.md: a pull secret authenticates only to the registry hosts
// its auths keys name, matched as the kubelet matches them: the host with
// its port, * for one dot-separated part, a path limiting the entry to
// those repositories, https://index.docker.io/v1/ for Docker Hub.
func TestPullSecretAuthenticatesOnlyToTheHostsItNames(t *testing.T) {
	t.Parallel()
	auth := func(user string) string {
		return fmt.Sprintf(`{"auth":%q}`, base64.StdEncoding.EncodeToString([]byte(user+":pw")))
	}
	cfg := fmt.Sprintf(`{"auths":{"*.example.com":%s,"registry.test:5000":%s,"paths.test/team":%s,"https://index.docker.io/v1/":%s}}`,
		auth("glob"), auth("port"), auth("path"), auth("hub"))
	client := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "regcred"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(cfg)},
	})
	access, err := NewPullSecrets(client, PullSecretOptions{Fallback: authn.NewMultiKeychain()}).Access(t.Context(), "shop", "", []string{"regcred"})
	if err != nil {
		t.Fatal(err)
	}
	for image, want := range map[string]string{
		"r.example.com/app":          "glob",
		"a.b.example.com/app":        "", // * is one part
		"registry.test:5000/app":     "port",
		"registry.test/app":          "", // the port is part of the host
		"paths.test/team/app":        "path",
		"paths.test/other/app":       "", // the path limits the entry
		"docker.io/library/nginx":    "hub",
		"registry-1.docker.io/nginx": "hub",
		"example.com.evil.test/app":  "",
	} {
		ref, err := ParseReference(image)
		if err != nil {
			t.Fatal(err)
		}
		a, err := access.Keychain.Resolve(ref.nameRef().Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != want {
			t.Errorf("the pull secret's user for %s = %q, want %q", image, cfg.Username, want)
		}
	}
}
