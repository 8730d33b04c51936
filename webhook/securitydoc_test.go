package webhook

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// The bounds docs/security.md states for the webhook port, the Checker, the
// decision log line and the cache budget are the code's: a changed bound
// fails here, not in a security review that relied on the sentence.
func TestSecurityDocStatesTheWebhooksBounds(t *testing.T) {
	t.Parallel()
	w, h := DefaultWebhookLimits(), DefaultHealthLimits()
	c := NewChecker(CheckerOptions{})
	kib := func(n int) string { return fmt.Sprintf("%d KiB", n>>10) }
	const sixteenth = 1 << 24 // a cache.maxBytes whose shares are exact
	cfg := DefaultConfig()
	cfg.Cache.MaxBytes.Set(sixteenth)
	resolver, secrets, results, lineages := cfg.cacheBudget()
	if resolver != sixteenth/16*10 || secrets != sixteenth/16 || cfg.inputPartsBytes() != sixteenth/16 || results != sixteenth/8 || lineages != sixteenth/8 {
		t.Errorf("cacheBudget() of %d = %d, %d, %d, %d and inputPartsBytes() %d; docs/security.md states 10/16, 1/16, 1/8, 1/8 and 1/16", sixteenth, resolver, secrets, results, lineages, cfg.inputPartsBytes())
	}
	// Class 4: registry.timeout bounds the wait for response headers (the
	// resolver's FetchTimeout), a shared fetch, and the catalog's fetches.
	timeout := DefaultConfig()
	timeout.Registry.Timeout = Duration{7 * time.Second}
	if r, c := timeout.resolverOptions().FetchTimeout, timeout.catalogOptions().FetchTimeout; r != 7*time.Second || c != 7*time.Second {
		t.Errorf("registry.timeout 7s gives the resolver a FetchTimeout of %v and the catalog %v; docs/security.md says registry.timeout bounds both", r, c)
	}
	testutil.DocStates(t, "../docs/security.md",
		"The transport stops waiting for response headers after `registry.timeout`, and the catalog's tag listing is bounded by it",
		"A shared fetch already started may finish after its callers have gone, to warm the cache, within `registry.timeout`",
		// Class 4.
		fmt.Sprintf("A workload past %s containers × platforms gets one `image-resolution` violation (`limit`)", testutil.Thousands(c.opts.MaxEvaluations)),
		// Class 11.
		fmt.Sprintf("at most `--max-connections` (%s) or `--health-max-connections` (%d)", testutil.Thousands(w.MaxConns), h.MaxConns),
		fmt.Sprintf("must each arrive within %s (headers %s on the health port;", spelled(w.HeaderTimeout), spelled(h.HeaderTimeout)),
		fmt.Sprintf("its `?timeout=` capped at %s", spelled(maxWebhookTimeout)),
		fmt.Sprintf("a review whose uid is longer than %d bytes", maxUIDBytes),
		fmt.Sprintf("held its slot for the %s write limit", spelled(webhookWriteTimeout)),
		fmt.Sprintf("at most %s is set aside for the length a request declares", kib(preallocatedBodyBytes)),
		fmt.Sprintf("up to the %d MiB limit", maxReviewBytes>>20),
		fmt.Sprintf("Every answer's message is cut to %s", kib(maxAnswerMessageBytes)),
		fmt.Sprintf("The uid is echoed only up to %d bytes", maxUIDBytes),
		fmt.Sprintf("Idle connections close after %s on the webhook port", spelled(w.IdleTimeout)),
		fmt.Sprintf("and %s on the health port", spelled(h.IdleTimeout)),
		fmt.Sprintf("answers must be written within %s (%s on the health port)", spelled(webhookWriteTimeout), spelled(healthRequestTimeout)),
		// Class 13.
		fmt.Sprintf("One decision writes one log line of at most %s (%d B per field, %d B per violation message, %s of violations, %s of checked images with their digests, %s of lineage, %s of denial, counted after escaping)",
			kib(maxDecisionLogLine), logFieldBytes, logViolationBytes, kib(logViolationsBytes), kib(logImagesBytes), kib(logLineageBytes), kib(logMessageBytes)),
		// Class 17.
		fmt.Sprintf("`cache.maxBytes` (default `%dMi`;", DefaultCacheBytes>>20),
		"the resolver 10/16 (", "pull-secret credentials 1/16, the container, image and lineage parts of the policy input 1/16, policy results 1/8, lineages 1/8",
	)
}

// Every metric docs/security.md names is one strata registers, with the
// labels the document gives it.
func TestSecurityDocNamesOnlyMetricsStrataRegisters(t *testing.T) {
	t.Parallel()
	conn, err := newConnMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	descs := make(chan *prometheus.Desc, 16)
	for _, c := range []prometheus.Collector{conn.open, conn.dropped, conn.accepted, conn.handshakes, conn.answers, m.decisions, m.violations, m.duration, NewPolicyCollector(nil)} {
		c.Describe(descs)
	}
	close(descs)
	registered := map[string][]string{} // name: its labels
	desc := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	for d := range descs {
		parts := desc.FindStringSubmatch(d.String())
		if parts == nil {
			t.Fatalf("cannot read the metric description %s", d)
		}
		registered[parts[1]] = strings.Split(parts[2], ",")
	}
	named := regexp.MustCompile(`(strata_[a-z_]+)(?:\{([a-z,]+|[a-z]+="[^"]*")\})?`).FindAllStringSubmatch(string(testutil.ReadFile(t, "../docs/security.md")), -1)
	if len(named) < 3 {
		t.Fatalf("docs/security.md names %d metrics, want the three it names: is the pattern still right?", len(named))
	}
	for _, n := range named {
		labels, ok := registered[n[1]]
		if !ok {
			t.Errorf("docs/security.md names the metric %s, which strata does not register", n[1])
			continue
		}
		for _, l := range strings.Split(n[2], ",") {
			if l, _, _ = strings.Cut(l, "="); l != "" && !slices.Contains(labels, l) {
				t.Errorf("docs/security.md names %s with the label %q; it has %v", n[1], l, labels)
			}
		}
	}
}

// docs/security.md class 13: whatever a decision holds, its one log line
// keeps each list within its budget and says what it left out
// (violationsOmitted, imagesOmitted, lineageOmitted, bytesCut).
func TestDecisionLogLineCountsWhatItLeavesOut(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	h := NewHandler(HandlerOptions{Mode: policy.Enforce, Logger: slog.New(slog.NewJSONHandler(&out, nil))})
	const n = 200
	long := strings.Repeat("<\x1b", 2<<10) // escapes to more than the bytes it is
	d := &Decision{}
	for i := range n {
		container := fmt.Sprintf("c%d-%s", i, long)
		d.Images = append(d.Images, JudgedImage{Container: container, Image: "registry.example.com/app:" + long, Digest: images.Digest{0xaa}})
		d.Violations = append(d.Violations, policy.Violation{Policy: "run-as-root", Action: policy.Enforce, Msg: long, Container: container, Platform: "linux/amd64"})
		d.Lineage = append(d.Lineage, LineageLog{Container: container, Platform: "linux/amd64", Chain: []EdgeLog{{Digest: images.Digest{0xbb}, Sources: []string{"catalog"}, Verified: "layers"}}})
	}
	req := &admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "u", Namespace: "ns", Name: long}}
	resp := &admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false}}
	resp.Result = &metav1.Status{Message: long}
	h.logDecision(req, nil, d, resp, "denied", 0)
	line := bytes.TrimSpace(out.Bytes())
	if bytes.Count(line, []byte("\n")) != 0 || len(line) > maxDecisionLogLine {
		t.Fatalf("logDecision wrote %d bytes in %d lines, want one line of at most %d", len(line), bytes.Count(line, []byte("\n"))+1, maxDecisionLogLine)
	}
	var rec struct {
		Name              string            `json:"name"`
		Message           string            `json:"message"`
		Images            []json.RawMessage `json:"images"`
		Violations        []json.RawMessage `json:"violations"`
		Lineage           []json.RawMessage `json:"lineage"`
		ImagesOmitted     int               `json:"imagesOmitted"`
		ViolationsOmitted int               `json:"violationsOmitted"`
		LineageOmitted    int               `json:"lineageOmitted"`
		BytesCut          int               `json:"bytesCut"`
	}
	if err := json.Unmarshal(line, &rec); err != nil {
		t.Fatalf("the decision line %q is not JSON: %v", line, err)
	}
	for _, list := range []struct {
		name          string
		kept, omitted int
		bytes, budget int
	}{
		{"images", len(rec.Images), rec.ImagesOmitted, encodedLen(t, rec.Images), logImagesBytes},
		{"violations", len(rec.Violations), rec.ViolationsOmitted, encodedLen(t, rec.Violations), logViolationsBytes},
		{"lineage", len(rec.Lineage), rec.LineageOmitted, encodedLen(t, rec.Lineage), logLineageBytes},
	} {
		if list.kept == 0 || list.kept+list.omitted != n || list.bytes > list.budget {
			t.Errorf("the decision line keeps %d %s in %d bytes and omits %d; want some kept within %d bytes and all %d accounted for", list.kept, list.name, list.bytes, list.omitted, list.budget, n)
		}
	}
	for _, v := range rec.Violations {
		var short struct{ Msg string }
		if err := json.Unmarshal(v, &short); err != nil {
			t.Fatal(err)
		}
		if got := encodedLen(t, short.Msg) - 2; got > logViolationBytes {
			t.Errorf("a violation's message is %d bytes escaped, want at most %d", got, logViolationBytes)
		}
	}
	if got := encodedLen(t, rec.Name) - 2; got > logFieldBytes {
		t.Errorf("the name is %d bytes escaped, want at most %d", got, logFieldBytes)
	}
	if got := encodedLen(t, rec.Message) - 2; got > logMessageBytes {
		t.Errorf("the denial is %d bytes escaped, want at most %d", got, logMessageBytes)
	}
	if rec.BytesCut == 0 {
		t.Errorf("the decision line cut names, messages and lists and says bytesCut 0")
	}
}

// encodedLen is the length of v as encoding/json writes it without HTML
// escaping, as slog's JSON handler does.
func encodedLen(t *testing.T, v any) int {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Len() - 1
}

// Every strata.yaml key docs/security.md names is a key Config reads: a
// renamed key fails here, not in an operator's configuration.
func TestSecurityDocNamesOnlyConfigurationKeysStrataReads(t *testing.T) {
	t.Parallel()
	doc := testutil.DocProse(t, "../docs/security.md")
	for _, key := range []string{
		"registry.allow", "registry.tagTTL", "registry.timeout", "registry.credentials", "registry.hosts",
		"catalog.refresh", "cache.maxBytes", "exempt.images", "policies.paths",
	} {
		if !strings.Contains(doc, "`"+key+"`") {
			t.Errorf("docs/security.md no longer names the configuration key %s: drop it from this list", key)
		}
		typ := reflect.TypeFor[Config]()
		for _, name := range strings.Split(key, ".") {
			for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
				typ = typ.Elem()
			}
			field, ok := reflect.StructField{}, false
			if typ.Kind() == reflect.Struct {
				field, ok = jsonFields(typ)[name]
			}
			if !ok {
				t.Errorf("docs/security.md names the configuration key %s; %s has no field %q", key, typ, name)
				break
			}
			typ = field.Type
		}
	}
}

// docs/security.md class 1: a pod that says spec.os.name: windows, checked
// with the default platforms (no windows one), is never judged by the Linux
// entry of its image: it gets one image-resolution violation, of the pod-os
// kind, that names the platform to add.
func TestWindowsPodWithoutAWindowsManifestCheckedIsToldWhichPlatformToAdd(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	host := imagetest.Registry(t)
	root := imagetest.Image(t, 1, func(cf *v1.ConfigFile) { cf.OS, cf.Architecture, cf.Config.User = "linux", "amd64", "" })
	imagetest.Push(t, host+"/win/app:1", mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: root, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}}))
	w := &workload.Workload{Kind: "Pod", Name: "win", Namespace: "shop", Containers: []workload.Container{
		{Name: "app", Type: "container", Image: host + "/win/app:1", OS: "windows"},
	}}
	vs := p.checkerOn(t, host).Check(testCtx(t), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	// Without its cause, an Error is its advice.
	advice := (&images.Error{Kind: images.KindPodOS, Image: host + "/win/app:1"}).Error()
	if len(vs) != 1 || vs[0].Policy != "image-resolution" || !strings.Contains(vs[0].Msg, advice) || !strings.Contains(advice, "windows/amd64") {
		t.Errorf("Check(windows pod, image with a linux entry only) = %+v; want one image-resolution violation saying %q", vs, advice)
	}
}

// docs/security.md class 11 names the TLS versions and suites the webhook
// listener accepts: TLS 1.2 at the least, and under TLS 1.2 only ECDHE
// suites with AES-GCM or ChaCha20-Poly1305.
func TestSecurityDocStatesTheWebhooksTLSFloor(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, "../docs/security.md", "The webhook listener accepts TLS 1.3 (preferred) or TLS 1.2 with ECDHE AES-GCM or ChaCha20-Poly1305 suites only")
	var c tls.Config
	restrictTLS(&c)
	if c.MinVersion != tls.VersionTLS12 || c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS13 {
		t.Errorf("restrictTLS: versions %x to %x, want TLS 1.2 to TLS 1.3", c.MinVersion, c.MaxVersion)
	}
	// An empty list is Go's defaults, CBC suites among them.
	if len(c.CipherSuites) == 0 {
		t.Error("restrictTLS leaves TLS 1.2's cipher suites to Go's defaults, which docs/security.md does not name")
	}
	for _, id := range c.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !strings.Contains(name, "_AES_128_GCM_") && !strings.Contains(name, "_AES_256_GCM_") && !strings.HasSuffix(name, "_CHACHA20_POLY1305_SHA256") {
			t.Errorf("restrictTLS accepts %s under TLS 1.2, which docs/security.md does not name", name)
		}
	}
}
