package images

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/logtest"
	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images/provenancetest"
)

// docs/lineage.md reads build provenance within the body cap of every
// registry response, which it gives in MiB: the resolver's default.
func TestLineageMdStatesTheBodyCap(t *testing.T) {
	t.Parallel()
	o := withDefaults(Options{})
	statement := fmt.Sprintf("read within the %d MiB body cap of every registry response (`Options.MaxBodyBytes`", o.MaxBodyBytes>>20)
	if o.MaxBodyBytes%(1<<20) != 0 || !strings.Contains(testutil.DocProse(t, "../../docs/lineage.md"), statement) {
		t.Errorf("docs/lineage.md does not say %q, which Options.MaxBodyBytes' default (%d) makes true", statement, o.MaxBodyBytes)
	}
}

// docs/lineage.md, "Build provenance": a registry failure while reading the
// attestation, or a statement that does not parse, leaves the image
// without provenance, logged at debug; the image itself resolves.
func TestProvenanceThatCannotBeReadLeavesTheImageWithoutIt(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	img := testImage(t, 1, "", "linux/amd64")
	reg.push(t, "app:1", provenancetest.Index(t, provenancetest.Build{Image: img, Provenance: &provenancetest.Provenance{
		Materials: []provenancetest.Material{{URI: "pkg:docker/debian@12", Digest: "sha256:" + strings.Repeat("2", 64)}},
	}}))
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	// Every manifest read by digest but the image's own: the attestation.
	reg.mu.Lock()
	reg.wrap = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/manifests/sha256:") && !strings.HasSuffix(req.URL.Path, d.String()) {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
	reg.mu.Unlock()
	var logs logtest.Buffer
	r := newTestResolver(t, reg, Options{Platforms: []string{"linux/amd64"}, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	got := resolveOK(t, r, reg.ref("app:1"), Access{})
	if len(got.Platforms) != 1 || got.Platforms[0].Provenance != nil {
		t.Errorf("Resolve(app:1 whose attestation cannot be read) = %+v, want its one platform without provenance", got.Platforms)
	}
	if log := logs.String(); !strings.Contains(log, `"level":"DEBUG","msg":"build provenance not read; lineage goes without it"`) {
		t.Errorf("the resolver's log:\n%s\nwant a debug line saying the provenance was not read", log)
	}
	if _, err := parseStatement([]byte("not json"), Digest{}); err == nil || !strings.Contains(err.Error(), "does not parse") {
		t.Errorf("parseStatement(not json) = %v, want an error: the image goes without provenance", err)
	}
}
