package images

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/strata-project/strata/webhook/images/provenancetest"
)

// TestProvenanceIsReadInEveryBuildKitForm: the attestation manifest in the
// legacy and the OCI-artifact form, SLSA v0.2 and v1, Statement v0.1 and
// v1, each gives the platform image its materials, in order.
func TestProvenanceIsReadInEveryBuildKitForm(t *testing.T) {
	reg := newTestRegistry(t)
	for _, tc := range []struct {
		name                 string
		form                 provenancetest.Form
		statement, predicate string
	}{
		{"legacy, statement v0.1, SLSA v0.2", provenancetest.Legacy, provenancetest.StatementV01, provenancetest.PredicateSLSA02},
		{"legacy, statement v1, SLSA v1", provenancetest.Legacy, provenancetest.StatementV1, provenancetest.PredicateSLSA1},
		{"artifact, statement v0.1, SLSA v1", provenancetest.Artifact, provenancetest.StatementV01, provenancetest.PredicateSLSA1},
		{"artifact, statement v1, SLSA v0.2", provenancetest.Artifact, provenancetest.StatementV1, provenancetest.PredicateSLSA02},
	} {
		t.Run(tc.name, func(t *testing.T) {
			materials := []provenancetest.Material{
				{URI: "pkg:docker/golang@1.22?platform=linux%2Famd64", Digest: "sha256:" + strings.Repeat("1", 64)},
				{URI: "pkg:docker/debian@12?platform=linux%2Famd64", Digest: "sha256:" + strings.Repeat("2", 64)},
			}
			img := testImage(t, 2, "", "linux/amd64")
			reg.push(t, "app:prov", provenancetest.Index(t, provenancetest.Build{Image: img, Provenance: &provenancetest.Provenance{
				StatementType: tc.statement, PredicateType: tc.predicate, Materials: materials, Form: tc.form,
			}}))
			r := newTestResolver(t, reg, Options{Platforms: []string{"linux/amd64"}})
			got := resolveOK(t, r, reg.ref("app:prov"), Access{})
			p := got.Platforms[0].Provenance
			if p == nil {
				t.Fatalf("no provenance read; requests %q", reg.takeRequests())
			}
			want := []Material{{URI: materials[0].URI, Digest: materials[0].Digest}, {URI: materials[1].URI, Digest: materials[1].Digest}}
			if !slices.Equal(p.Materials, want) || p.StatementType != tc.statement || p.PredicateType != tc.predicate {
				t.Errorf("provenance = %+v, want materials %v, %s, %s", p, want, tc.statement, tc.predicate)
			}
		})
	}
}

// TestProvenanceAboutAnotherImageIsIgnored: a statement whose subject is not
// the platform manifest says nothing about it.
func TestProvenanceAboutAnotherImageIsIgnored(t *testing.T) {
	reg := newTestRegistry(t)
	other := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("3", 64)}
	reg.push(t, "app:other", provenancetest.Index(t, provenancetest.Build{Image: testImage(t, 1, "", "linux/amd64"), Provenance: &provenancetest.Provenance{
		Subject:   &other,
		Materials: []provenancetest.Material{{URI: "pkg:docker/debian@12", Digest: "sha256:" + strings.Repeat("2", 64)}},
	}}))
	r := newTestResolver(t, reg, Options{Platforms: []string{"linux/amd64"}})
	got := resolveOK(t, r, reg.ref("app:other"), Access{})
	if p := got.Platforms[0].Provenance; p != nil {
		t.Errorf("provenance about %s was taken for this image: %+v", other, p)
	}
}

// TestImageWithoutProvenanceCostsNoExtraRequest: an index without
// attestations is read with exactly the requests it was read with before
// provenance: the index, the platform manifest, its config.
func TestImageWithoutProvenanceCostsNoExtraRequest(t *testing.T) {
	reg := newTestRegistry(t)
	img := testImage(t, 2, "", "linux/amd64")
	reg.push(t, "app:plain", provenancetest.Index(t, provenancetest.Build{Image: img}))
	r := newTestResolver(t, reg, Options{Platforms: []string{"linux/amd64"}})
	if _, err := r.Resolve(testContext(t, 10*time.Second), reg.ref("app:plain"), Access{}); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	cf, _ := img.ConfigName()
	want := []string{
		"GET /v2/app/manifests/plain",
		"GET /v2/app/manifests/" + d.String(),
		"GET /v2/app/blobs/" + cf.String(),
	}
	if got := reg.takeRequests(); !slices.Equal(got, want) {
		t.Errorf("cold resolve requests = %q, want %q", got, want)
	}
}

// TestProvenanceColdCost counts what reading provenance costs a cold
// resolution, in requests and in sequential round trips (waves of requests
// the registry holds until no new one arrives, then answers together): two
// requests (the attestation manifest, the statement blob), at most one more
// round trip. A second resolution of the same image costs nothing more.
func TestProvenanceColdCost(t *testing.T) {
	reg := newTestRegistry(t)
	waves := &waveCounter{settle: 150 * time.Millisecond}
	plain, prov := testImage(t, 2, "", "linux/amd64"), testImage(t, 2, "", "linux/amd64")
	reg.push(t, "app:plain", provenancetest.Index(t, provenancetest.Build{Image: plain}))
	reg.push(t, "app:prov", provenancetest.Index(t, provenancetest.Build{Image: prov, Provenance: &provenancetest.Provenance{
		Materials: []provenancetest.Material{{URI: "pkg:docker/debian@12", Digest: "sha256:" + strings.Repeat("2", 64)}},
	}}))
	reg.wrap = waves.wrap
	measure := func(ref string) (requests []string, rounds int) {
		r := newTestResolver(t, reg, Options{Platforms: []string{"linux/amd64"}})
		waves.reset()
		if _, err := r.Resolve(testContext(t, 30*time.Second), reg.ref(ref), Access{}); err != nil {
			t.Fatal(err)
		}
		requests, rounds = reg.takeRequests(), waves.count()
		if _, err := r.Resolve(testContext(t, 30*time.Second), reg.ref(ref), Access{}); err != nil {
			t.Fatal(err)
		}
		if warm := reg.takeRequests(); len(warm) != 0 {
			t.Errorf("warm Resolve(%s) made requests %q", ref, warm)
		}
		return requests, rounds
	}
	plainReqs, plainRounds := measure("app:plain")
	provReqs, provRounds := measure("app:prov")
	t.Logf("cold, no provenance: %d requests, %d round trips: %q", len(plainReqs), plainRounds, plainReqs)
	t.Logf("cold, provenance:    %d requests, %d round trips: %q", len(provReqs), provRounds, provReqs)
	if len(provReqs) != len(plainReqs)+2 {
		t.Errorf("provenance cost %d requests more than none, want 2 (attestation manifest, statement)", len(provReqs)-len(plainReqs))
	}
	if provRounds > plainRounds+1 {
		t.Errorf("provenance cost %d round trips more than none, want at most 1", provRounds-plainRounds)
	}
}

// waveCounter holds requests and answers them in waves: a wave is answered
// once no new request has arrived for settle. The number of waves is the
// number of sequential round trips a resolution needed.
type waveCounter struct {
	settle time.Duration
	mu     sync.Mutex
	waves  int
	gate   chan struct{}
	timer  *time.Timer
}

func (w *waveCounter) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waves = 0
}

func (w *waveCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.waves
}

func (w *waveCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/v2/" {
			next.ServeHTTP(rw, req)
			return
		}
		w.mu.Lock()
		if w.gate == nil {
			w.gate = make(chan struct{})
			w.waves++
			gate := w.gate
			w.timer = time.AfterFunc(w.settle, func() {
				w.mu.Lock()
				defer w.mu.Unlock()
				// A Reset racing the timer's firing runs this twice.
				if w.gate == gate {
					w.gate = nil
					close(gate)
				}
			})
		} else {
			w.timer.Reset(w.settle)
		}
		gate := w.gate
		w.mu.Unlock()
		<-gate
		next.ServeHTTP(rw, req)
	})
}
