package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/internal/logtest"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// The attack: one 40-container pod against a registry whose error bodies
// are 60 KB each wrote a single 2.4 MB decision log line. Whatever the
// violations say, the line stays within maxDecisionLogLine and says how
// much it left out.
func TestFortyContainersWithHugeRegistryErrorsWriteOneBoundedLogLine(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		// A registry error whose message is 60 KB, distinct per path.
		msg := r.URL.Path + strings.Repeat(" padding", 60<<10/8)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"code": "UNKNOWN", "message": msg}}})
	}))
	t.Cleanup(registry.Close)
	var logs syncBuffer
	h := handlers(p.checkerVia(t, registry.Listener.Addr().String()), nil, slog.New(slog.NewJSONHandler(&logs, nil)))
	pod := podOf("many", "strata-demo.local/shop/app0:1")
	var containers []any
	for i := range 40 {
		containers = append(containers, map[string]any{"name": fmt.Sprintf("c%d", i), "image": fmt.Sprintf("strata-demo.local/shop/app%d:1", i)})
	}
	pod["spec"] = map[string]any{"containers": containers}
	r := admit(t, serveHandler(t, h["enforce"]).URL+"?timeout=10s", reviewOf(t, "huge-errors", "Pod", "CREATE", pod, nil))
	if r.Allowed {
		t.Fatalf("a pod whose images cannot be resolved was allowed in enforce")
	}
	lines := strings.Split(strings.TrimSuffix(logs.Await(`"msg":"admission decision"`, 1), "\n"), "\n")
	var decision string
	for _, l := range lines {
		if strings.Contains(l, `"msg":"admission decision"`) {
			decision = l
		}
	}
	if decision == "" {
		t.Fatalf("no decision log line in:\n%.2000s", logs.String())
	}
	if len(decision) > maxDecisionLogLine {
		t.Errorf("the decision log line is %d bytes, want at most %d", len(decision), maxDecisionLogLine)
	}
	var rec struct {
		Policies    []string `json:"policies"`
		Violations  []any    `json:"violations"`
		Omitted     int      `json:"violationsOmitted"`
		CutBytes    int      `json:"bytesCut"`
		MessageSeen string   `json:"message"`
	}
	if err := json.Unmarshal([]byte(decision), &rec); err != nil {
		t.Fatalf("the decision log line is not JSON: %v", err)
	}
	if len(rec.Policies) != 1 || rec.Policies[0] != "image-resolution" {
		t.Errorf("policies = %q, want [image-resolution]", rec.Policies)
	}
	if rec.CutBytes == 0 || len(rec.Violations)+rec.Omitted != 40 {
		t.Errorf("the line records %d violations, %d omitted, %d bytes cut; want the 40 accounted for and the cut counted", len(rec.Violations), rec.Omitted, rec.CutBytes)
	}
}

// Escapes cost up to six bytes each in a JSON line: a value of control
// characters is cut by what it takes once escaped, on a character boundary.
func TestLogBudgetCountsEscapedBytes(t *testing.T) {
	t.Parallel()
	var lb logBudget
	got := lb.cutTo(strings.Repeat("\x1b", 1000)+"é", logFieldBytes)
	if escapedLen(got) > logFieldBytes || !strings.HasSuffix(got, "...") || lb.cut == 0 {
		t.Errorf("cutTo(1000 escapes) = %d escaped bytes, cut %d; want at most %d and the cut counted", escapedLen(got), lb.cut, logFieldBytes)
	}
	if got := lb.cutTo(strings.Repeat("é", 200), 11); got != "éééé..." {
		t.Errorf("cutTo(é×200, 11) = %q, want a cut on a character boundary", got)
	}
}

// The decision log says, for each evaluated platform, what the image is
// built on: each ancestor's digest, who named it and how it was verified.
// The demo's web image is on the catalog's debian and temurin, which its
// base annotations also name.
func TestDecisionLogLineSaysWhereEachLineageEdgeCameFrom(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	var logs syncBuffer
	h := handlers(p.Checker, nil, slog.New(slog.NewJSONHandler(&logs, nil)))
	r := admit(t, serveHandler(t, h["enforce"]).URL+"?timeout=10s", reviewOf(t, "lineage-log", "Pod", "CREATE", podOf("web", p.Demo.Ref("shop/web:1.0")), nil))
	if !r.Allowed {
		t.Fatalf("shop/web:1.0 was denied: %v", r.Result)
	}
	var rec struct {
		Msg     string       `json:"msg"`
		Lineage []LineageLog `json:"lineage"`
	}
	for _, l := range strings.Split(strings.TrimSuffix(logs.Await(`"msg":"admission decision"`, 1), "\n"), "\n") {
		if strings.Contains(l, `"msg":"admission decision"`) {
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("the decision log line is not JSON: %v", err)
			}
		}
	}
	if len(rec.Lineage) == 0 {
		t.Fatalf("the decision log line has no lineage:\n%s", logs.String())
	}
	for _, l := range rec.Lineage {
		if l.Container != "app" || l.Platform == "" || len(l.Chain) != 2 {
			t.Errorf("lineage %+v, want container app, its platform, a chain of 2", l)
			continue
		}
		for _, e := range l.Chain {
			if e.Digest.IsZero() || fmt.Sprint(e.Sources) != "[catalog annotation]" || e.Verified != "layers" {
				t.Errorf("edge %+v, want a digest, sources [catalog annotation], verified layers", e)
			}
		}
	}
}

// A pod of many containers on deep chains cannot make the lineage field
// outgrow its budget: platforms past it are dropped and counted.
func TestDecisionLogLineageIsBounded(t *testing.T) {
	t.Parallel()
	var ls []LineageLog
	for i := range 100 {
		l := LineageLog{Container: fmt.Sprintf("c%d", i), Platform: "linux/amd64"}
		for range 8 {
			l.Chain = append(l.Chain, EdgeLog{Digest: images.Digest{0xaa}, Sources: []string{"catalog", "annotation", "provenance"}, Verified: "layers"})
		}
		ls = append(ls, l)
	}
	var lb logBudget
	kept, omitted := lb.lineage(ls)
	raw, err := json.Marshal(kept)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > logLineageBytes || omitted == 0 || len(kept)+omitted != 100 || lb.cut == 0 {
		t.Errorf("lineage of 100 deep platforms: %d bytes kept (budget %d), %d kept, %d omitted, %d bytes cut; want within budget, the rest counted", len(raw), logLineageBytes, len(kept), omitted, lb.cut)
	}
}

// The decision line's lists are kept as they are until an item must be cut:
// then the items before it as they were, it and those after cut, and what
// does not fit dropped from the end, counted.
func TestDecisionLogListsAreCutOnlyWhereTheyMustBe(t *testing.T) {
	t.Parallel()
	short := policy.Violation{Policy: "run-as-root", Action: policy.Warn, Msg: "runs as root", Container: "app"}
	long := policy.Violation{Policy: "approved-base", Action: policy.Warn, Msg: strings.Repeat("x", 2*logViolationBytes), Container: "side"}

	var b logBudget
	in := []policy.Violation{short, short}
	kept, omitted := b.violations(in)
	if omitted != 0 || b.cut != 0 || len(kept) != 2 || &kept[0] != &in[0] {
		t.Errorf("violations(two short) = %d kept (same list: %t), %d omitted, %d cut; want the list itself", len(kept), len(kept) > 0 && &kept[0] == &in[0], omitted, b.cut)
	}

	b = logBudget{}
	in = []policy.Violation{short, long, short}
	kept, omitted = b.violations(in)
	if omitted != 0 || len(kept) != 3 || kept[0] != short || kept[2] != short || len(kept[1].Msg) > logViolationBytes || !strings.HasSuffix(kept[1].Msg, "...") || b.cut == 0 {
		t.Errorf("violations(short, long, short) = %+v, %d omitted, %d cut; want the long message cut and counted", kept, omitted, b.cut)
	}
	if in[1] != long || &kept[0] == &in[0] {
		t.Errorf("violations changed its input, or kept it where an item was cut")
	}

	b = logBudget{}
	many := make([]policy.Violation, 0, 40)
	for range 40 {
		many = append(many, policy.Violation{Policy: "p", Action: policy.Warn, Msg: strings.Repeat("y", logViolationBytes-10), Container: "c"})
	}
	kept, omitted = b.violations(many)
	if omitted == 0 || len(kept)+omitted != len(many) || b.cut == 0 {
		t.Errorf("violations(40 of %d bytes) = %d kept, %d omitted, %d cut; want the end dropped and counted", logViolationBytes-10, len(kept), omitted, b.cut)
	}
}

// heldLog holds every decision line until release is closed, as a slow
// log pipe would.
type heldLog struct {
	slog.Handler
	release chan struct{}
}

func (h heldLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "admission decision" {
		<-h.release
	}
	return h.Handler.Handle(ctx, r)
}

// The API server waits for the answer, not for strata's log: the answer
// is sent whole (its length given, not chunked) before the decision line
// is written, and the line follows it; the metrics have counted the
// decision by the time the answer arrives.
func TestTheAnswerIsSentBeforeTheDecisionLineIsWritten(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	var logs logtest.Buffer
	held := heldLog{Handler: slog.NewJSONHandler(&logs, nil), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(HandlerOptions{Checker: p.Checker, Mode: policy.Enforce, Logger: slog.New(held), Metrics: m})
	url := serveHandler(t, h).URL + "?timeout=10s"
	released := false
	defer func() {
		if !released {
			close(held.release)
		}
	}()

	// Held, the line would hold the answer too: the client gives up.
	client := &http.Client{Timeout: 5 * time.Second}
	resp, raw := post(t, client, url, "application/json", reviewOf(t, "answer-first", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST = HTTP %d %s, want 200", resp.StatusCode, raw)
	}
	if r := decodeReview(t, raw); r.Allowed || r.UID != "answer-first" {
		t.Errorf("answer = allowed %v, uid %q; want the denial of answer-first", r.Allowed, r.UID)
	}
	if resp.ContentLength != int64(len(raw)) || len(resp.TransferEncoding) > 0 {
		t.Errorf("answer: Content-Length %d, Transfer-Encoding %v for %d bytes; want the length given and no chunks", resp.ContentLength, resp.TransferEncoding, len(raw))
	}
	if got := logs.String(); strings.Contains(got, "answer-first") {
		t.Fatalf("the decision line was written while its handler was held:\n%s", got)
	}
	// The metrics count the decision before the answer, line or no line.
	if got := gather(t, reg)[`strata_decisions_total{decision="denied",mode="enforce"}`]; got != 1 {
		t.Errorf("strata_decisions_total{denied,enforce} = %v once the answer arrived, want 1", got)
	}

	close(held.release)
	released = true
	if got := logs.Await(`"uid":"answer-first"`, 1); !strings.Contains(got, `"decision":"denied"`) {
		t.Errorf("decision log after the answer = %q, want the denial of answer-first", got)
	}
}

// escapedLen counts ASCII from a table and the rest a rune at a time: it
// agrees with escapedRuneLen summed over every rune, whatever the bytes.
func TestEscapedLenIsItsRunesEscapedLengths(t *testing.T) {
	t.Parallel()
	cases := []string{"", "plain ascii", `"quoted" \ back`, "<a&b>", "\u2028 \u2029", "é", "日本語 after ascii", "ascii then \x80\xff invalid"}
	for b := range 256 {
		cases = append(cases, string([]byte{byte(b)}), "a"+string([]byte{byte(b)})+"é\\"+string([]byte{byte(b)}))
	}
	for _, s := range cases {
		want := 0
		for _, r := range s {
			want += escapedRuneLen(r)
		}
		if got := escapedLen(s); got != want {
			t.Errorf("escapedLen(%q) = %d, want %d", s, got, want)
		}
	}
}
