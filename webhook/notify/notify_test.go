package notify_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/internal/logtest"
	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/notify"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// delivery is one POST the receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is the CI system's webhook: a real HTTP server that answers
// each POST with what status says (200 unless set) and hands it to the test.
type receiver struct {
	*httptest.Server
	got      chan delivery
	attempts atomic.Int64
	status   atomic.Int64
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{got: make(chan delivery, 16)}
	r.status.Store(http.StatusOK)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.attempts.Add(1)
		status := int(r.status.Load())
		w.WriteHeader(status)
		if status < 300 {
			r.got <- delivery{header: req.Header.Clone(), body: body}
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("no notification within 30s")
		return delivery{}
	}
}

// world is a registry with a base and an application built on it, and a
// pipeline whose catalog knows the base, recording what it reviews.
type world struct {
	host     string
	pipeline *webhook.Pipeline
	seen     *inventory.Recorder
}

func push(t *testing.T, ref string, img v1.Image) images.Digest {
	t.Helper()
	out, err := images.ParseDigest(imagetest.Push(t, ref, img).String())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func linuxImage(t *testing.T) v1.Image {
	return imagetest.Image(t, 1, func(cf *v1.ConfigFile) { cf.OS, cf.Architecture, cf.Config.User = "linux", "amd64", "1000" })
}

// onTop is base with one more layer: an application built FROM base.
func onTop(t *testing.T, base v1.Image) v1.Image {
	t.Helper()
	layer, err := random.Layer(256, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newWorld(t *testing.T, moved func(lineage.Move), bases ...string) *world {
	t.Helper()
	w := &world{host: imagetest.Registry(t), seen: inventory.NewRecorder(inventory.RecorderOptions{})}
	cfg := webhook.DefaultConfig()
	cfg.Platforms = []string{"linux/amd64"}
	cfg.Registry.Insecure = []string{w.host}
	for _, b := range bases {
		cfg.Catalog.Images = append(cfg.Catalog.Images, webhook.CatalogImage{Ref: w.host + "/" + b, Role: "os"})
	}
	p, err := webhook.NewPipeline(t.Context(), cfg, webhook.PipelineOptions{Recorder: w.seen, CatalogMoved: moved})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	w.pipeline = p
	return w
}

// admit reviews a pod running image in namespace shop and records it, as
// the webhook's handler does.
func (w *world) admit(t *testing.T, pod, image string) {
	t.Helper()
	wl := &workload.Workload{Kind: "Pod", Name: pod, Namespace: "shop", Containers: []workload.Container{{Name: "app", Type: "container", Image: w.host + "/" + image}}}
	ex := w.pipeline.Checker.Examine(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Warn}, wl)
	for _, c := range ex.Containers {
		if c.Err != nil {
			t.Fatalf("Examine(%s) = %v", image, c.Err)
		}
	}
	w.seen.Record(policy.Warn, wl, ex)
}

func (w *world) refresh(t *testing.T) {
	t.Helper()
	if err := w.pipeline.Catalog.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// The receiver computes the signature itself, as a CI system would.
func signed(secret, body []byte, header string) bool {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal([]byte(header), []byte("sha256="+hex.EncodeToString(mac.Sum(nil))))
}

// A base re-pointed in the registry, seen by the next catalog refresh,
// produces exactly one signed event naming the base, its old and new
// digests, the image built on the old digest (and the old base itself, run
// directly) and the workloads running them; the stale-images metric counts
// those images under the base.
func TestMovedBaseSendsOneSignedEventListingTheImagesBuiltOnTheOldDigest(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	secret := []byte("a shared secret")
	var n *notify.Notifier
	w := newWorld(t, func(m lineage.Move) { n.Moved(m) }, "base/os:1", "base/other:1")
	var err error
	n, err = notify.New(notify.Options{URL: rcv.URL + "/hook", Secret: secret, Seen: w.seen})
	if err != nil {
		t.Fatal(err)
	}
	base := linuxImage(t)
	oldBase := push(t, w.host+"/base/os:1", base)
	push(t, w.host+"/base/other:1", linuxImage(t))
	app := push(t, w.host+"/shop/web:1", onTop(t, base))
	push(t, w.host+"/shop/solo:1", linuxImage(t)) // on no catalog base
	w.refresh(t)
	w.admit(t, "web", "shop/web:1")
	w.admit(t, "solo", "shop/solo:1")
	w.admit(t, "raw", "base/os:1") // runs the base itself: a redeploy
	go n.Run(t.Context())

	newBase := push(t, w.host+"/base/os:1", linuxImage(t))
	w.refresh(t)
	w.refresh(t) // sees nothing new: no second event
	d := rcv.next(t)

	if !signed(secret, d.body, d.header.Get(notify.HeaderSignature)) {
		t.Errorf("%s = %q, not the HMAC-SHA256 of the body under the secret", notify.HeaderSignature, d.header.Get(notify.HeaderSignature))
	}
	var ev notify.Event
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatalf("event body %s: %v", d.body, err)
	}
	wantImages := []notify.Image{
		{Ref: w.host + "/base/os:1", Digest: oldBase, Platforms: []string{"linux/amd64"}},
		{Ref: w.host + "/shop/web:1", Digest: app, Platforms: []string{"linux/amd64"}},
	}
	wantWorkloads := []notify.Workload{
		{Namespace: "shop", Kind: "Pod", Name: "raw", Containers: []string{"app"}},
		{Namespace: "shop", Kind: "Pod", Name: "web", Containers: []string{"app"}},
	}
	if ev.Base != w.host+"/base/os:1" || ev.OldDigest != oldBase || ev.NewDigest != newBase || ev.Kind != notify.KindMoved ||
		fmt.Sprint(ev.Images) != fmt.Sprint(wantImages) || fmt.Sprint(ev.Workloads) != fmt.Sprint(wantWorkloads) ||
		len(ev.Platforms) != 1 || !slices.Equal(ev.Platforms[0].OldDigests, []images.Digest{oldBase}) {
		t.Errorf("event = %s\nwant base/os:1 moved %s → %s, images %v, workloads %v", d.body, oldBase, newBase, wantImages, wantWorkloads)
	}

	// Exactly one: another base moving now is the next delivery, so a
	// repeat of the first would have come before it.
	push(t, w.host+"/base/other:1", linuxImage(t))
	w.refresh(t)
	if d := rcv.next(t); !bytes.Contains(d.body, []byte(`"base":"`+w.host+`/base/other:1"`)) {
		t.Errorf("the delivery after the first = %s, want base/other:1's: base/os:1 was notified twice", d.body)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(notify.NewStaleCollector(w.seen, w.pipeline.Catalog.Stale))
	if got, want := gathered(t, reg, "strata_stale_images"), fmt.Sprintf("base=%s 2", w.host+"/base/os:1"); got != want {
		t.Errorf("strata_stale_images = %q, want %q: web:1 on the moved base and the old base itself, nothing for base/other:1 (no image seen on it)", got, want)
	}
}

// gathered is the samples of the metric family name in reg, as
// "label=value ... number" lines, sorted.
func gathered(t *testing.T, reg *prometheus.Registry, family string) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, l := range m.GetLabel() {
				parts = append(parts, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue()
			if c := m.GetCounter(); c != nil {
				v = c.GetValue()
			}
			lines = append(lines, strings.Join(parts, " ")+" "+fmt.Sprint(v))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// waitFor polls cond for up to 30s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 30s", what)
}

var move = lineage.Move{Tag: "registry.example.com/base/os:1", Role: "os"}

// A receiver that answers 503 is tried again, with backoff, up to the
// attempts configured, then the failure is logged naming the base, without
// the URL's query (a GitLab trigger token) or the secret; a 4xx is not
// retried.
func TestReceiverDownIsRetriedThenLoggedWithoutTheToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status, wantAttempts int
	}{{http.StatusServiceUnavailable, 3}, {http.StatusNotFound, 1}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			rcv.status.Store(int64(tc.status))
			var logs logtest.Buffer
			reg := prometheus.NewPedanticRegistry()
			n, err := notify.New(notify.Options{
				URL: rcv.URL + "/api/v4/projects/9/ref/main/trigger/pipeline?token=glptt-SECRET", Secret: []byte("hmac-SECRET"),
				Attempts: 3, Backoff: time.Millisecond, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			reg.MustRegister(n.Collectors()...)
			go n.Run(t.Context())
			n.Moved(move)
			waitFor(t, "the failure logged", func() bool { return strings.Contains(logs.String(), "notification not delivered") })
			if got := rcv.attempts.Load(); got != int64(tc.wantAttempts) {
				t.Errorf("attempts at a receiver answering %d = %d, want %d", tc.status, got, tc.wantAttempts)
			}
			out := logs.String()
			if !strings.Contains(out, move.Tag) || strings.Contains(out, "SECRET") {
				t.Errorf("log = %s\nwant the base named, and neither the token nor the secret", out)
			}
			if got := gathered(t, reg, "strata_notifications_total"); got != "result=failed 1" {
				t.Errorf("strata_notifications_total = %q, want result=failed 1", got)
			}
		})
	}
}

// A receiver that hangs never holds an admission: Moved returns at once
// whatever the receiver does, a full queue drops (and counts) the move
// rather than wait, and reviews go on while a delivery hangs.
func TestHangingReceiverNeverBlocksAdmissionsOrRefreshes(t *testing.T) {
	t.Parallel()
	hanging := newHangingReceiver(t)
	var n *notify.Notifier
	w := newWorld(t, func(m lineage.Move) { n.Moved(m) }, "base/os:1")
	var err error
	n, err = notify.New(notify.Options{URL: hanging.URL, Queue: 1, Seen: w.seen})
	if err != nil {
		t.Fatal(err)
	}
	go n.Run(t.Context())
	base := linuxImage(t)
	push(t, w.host+"/base/os:1", base)
	push(t, w.host+"/shop/web:1", onTop(t, base))
	w.refresh(t)
	for i := range 4 { // the first hangs in delivery, the second waits, the rest are dropped
		push(t, w.host+"/base/os:1", linuxImage(t))
		w.refresh(t)
		w.admit(t, fmt.Sprintf("web-%d", i), "shop/web:1")
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(n.Collectors()...)
	if got := gathered(t, reg, "strata_notifications_total"); !strings.Contains(got, "result=dropped") {
		t.Errorf("strata_notifications_total after 4 moves at a hanging receiver with a queue of 1 = %q, want some dropped", got)
	}
	if got := w.seen.Len(); got != 4 {
		t.Errorf("workloads reviewed while the receiver hung = %d, want 4", got)
	}
}

// FormatGitHub wraps the event as a repository_dispatch with the token as
// a bearer; GitHub refuses a client_payload of more than 10 top-level
// properties.
func TestGitHubFormatIsARepositoryDispatch(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	n, err := notify.New(notify.Options{URL: rcv.URL + "/repos/o/r/dispatches", Format: notify.FormatGitHub, Token: "ghp-token"})
	if err != nil {
		t.Fatal(err)
	}
	go n.Run(t.Context())
	n.Moved(move)
	d := rcv.next(t)
	var body struct {
		EventType     string                     `json:"event_type"`
		ClientPayload map[string]json.RawMessage `json:"client_payload"`
	}
	if err := json.Unmarshal(d.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.EventType != notify.GitHubEventType || len(body.ClientPayload) == 0 || len(body.ClientPayload) > 10 || d.header.Get("Authorization") != "Bearer ghp-token" {
		t.Errorf("GitHub delivery = %s (Authorization %q), want event_type %s and a client_payload of at most 10 properties, with the bearer token", d.body, d.header.Get("Authorization"), notify.GitHubEventType)
	}
}

// A URL that is not http(s) is refused at start, naming it without its
// query.
func TestNotifyURLMustBeHTTP(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://ci.example.com/x?token=SECRET", "ci.example.com/hook"} {
		if _, err := notify.New(notify.Options{URL: u}); err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("New(URL %q) = %v, want an error without the query", u, err)
		}
	}
}
