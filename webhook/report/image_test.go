package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
)

func sampleInspection() *Inspection {
	old, now, app, jdk, jdkNow := images.Digest{1}, images.Digest{2}, images.Digest{3}, images.Digest{4}, images.Digest{5}
	facts := &images.Facts{
		Ref: "registry.example.com/shop/web@" + app.String(), Digest: app, Platform: "linux/amd64",
		Layers: 6, Size: 3 << 20, Config: images.Config{User: images.ParseUser("app")},
	}
	l := lineage.Lineage{
		Chain: []lineage.Entry{
			{Refs: []string{"registry.example.com/base/debian:12"}, Digest: old, Role: "os", Layers: 1, Evidence: []string{"layers"}, Current: false, CurrentDigest: now},
			{ClaimedName: "vendor.example.com/jdk:21", Digest: jdk, Layers: 4, Evidence: []string{"annotation"}, Current: false, CurrentDigest: jdkNow},
		},
		Depth: 3, Complete: true,
		Claims: []lineage.Claim{{Name: "registry.example.com/base/alpine:3", Status: lineage.ClaimMismatch, Reason: "the layers of it are not the first layers of this image"}},
	}
	img := &images.Image{Written: "registry.example.com/shop/web:1.2", Ref: "registry.example.com/shop/web:1.2", Digest: app, Platforms: []*images.Facts{facts}}
	return NewInspection(img, func(*images.Facts) lineage.Lineage { return l })
}

func TestWriteInspectionText(t *testing.T) {
	t.Parallel()
	out := written(t, WriteInspectionText, sampleInspection())
	for _, want := range []string{
		"base/debian:12 (os, 1 layer, STALE) → " + (images.Digest{4}).String() + " (unknown role, +3, STALE, by verified claim, claimed as vendor.example.com/jdk:21) → shop/web:1.2 (app, +2)",
		"depth       3 (complete)",
		"stale base  base/debian:12 now points to " + (images.Digest{2}).String() + ": rebuild on it",
		"stale base  vendor.example.com/jdk:21 (claimed) now points to " + (images.Digest{5}).String() + ": rebuild on it",
		"base claim  mismatch base/alpine:3: the layers of it are not the first layers of this image",
		`user        "app": user name, uid unknown`,
		"layers      6 (3.0 MiB compressed)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteInspectionText output lacks %q; got:\n%s", want, out)
		}
	}
}

func TestWriteInspectionJSON(t *testing.T) {
	t.Parallel()
	out := written(t, WriteInspectionJSON, sampleInspection())
	var doc struct {
		Platforms []struct {
			Image   map[string]any `json:"image"`
			Lineage struct {
				Depth int `json:"depth"`
				Chain []struct {
					CurrentDigest string `json:"currentDigest"`
				} `json:"chain"`
			} `json:"lineage"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Platforms) != 1 || doc.Platforms[0].Lineage.Depth != 3 || doc.Platforms[0].Lineage.Chain[0].CurrentDigest != (images.Digest{2}).String() {
		t.Errorf("WriteInspectionJSON = %s, want one platform with depth 3 and the stale base's current digest", out)
	}
}

// TestInspectionShowsProvenanceEdges: a base found by build provenance is
// marked so in the text, the builder image the provenance also lists is a
// "provenance" line, and the JSON carries each edge's sources and
// verification.
func TestInspectionShowsProvenanceEdges(t *testing.T) {
	t.Parallel()
	debian, jdk, app := images.Digest{1}, images.Digest{4}, images.Digest{3}
	facts := &images.Facts{Ref: "registry.example.com/shop/web@" + app.String(), Digest: app, Platform: "linux/amd64", Layers: 6}
	l := lineage.Lineage{
		Chain: []lineage.Entry{
			{Refs: []string{"registry.example.com/base/debian:12"}, Digest: debian, Role: "os", Layers: 1, Evidence: []string{"layers", "provenance"}, Sources: []string{"catalog", "provenance"}, Verified: "layers", Current: true},
			{ClaimedName: "vendor.example.com/jdk:21", Digest: jdk, Layers: 4, Evidence: []string{"provenance"}, Sources: []string{"provenance"}, Verified: "layers", Current: true},
		},
		Depth: 3, Complete: true,
		Claims: []lineage.Claim{{Name: "docker.io/library/golang:1.22", Source: lineage.SourceProvenance, Status: lineage.ClaimMismatch, Reason: "used in the build, not a base: the layers of it are not the first layers of this image"}},
	}
	img := &images.Image{Written: "registry.example.com/shop/web:1.2", Ref: "registry.example.com/shop/web:1.2", Digest: app, Platforms: []*images.Facts{facts}}
	in := NewInspection(img, func(*images.Facts) lineage.Lineage { return l })
	var text, js bytes.Buffer
	if err := WriteInspectionText(&text, in); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		jdk.String() + " (unknown role, +3, by verified provenance, claimed as vendor.example.com/jdk:21)",
		"provenance  mismatch docker.io/library/golang:1.22: used in the build, not a base",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("WriteInspectionText output lacks %q; got:\n%s", want, text.String())
		}
	}
	if err := WriteInspectionJSON(&js, in); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Platforms []struct {
			Lineage struct {
				Chain []struct {
					Sources  []string `json:"sources"`
					Verified string   `json:"verified"`
				} `json:"chain"`
			} `json:"lineage"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Platforms) != 1 || len(doc.Platforms[0].Lineage.Chain) != 2 {
		t.Fatalf("WriteInspectionJSON = %s, want one platform, two chain entries", js.String())
	}
	if jdkEdge := doc.Platforms[0].Lineage.Chain[1]; len(jdkEdge.Sources) != 1 || jdkEdge.Sources[0] != "provenance" || jdkEdge.Verified != "layers" {
		t.Errorf("WriteInspectionJSON jdk edge = %+v, want sources [provenance], verified layers", jdkEdge)
	}
}
