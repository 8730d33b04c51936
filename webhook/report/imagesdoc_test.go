package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
)

// docs/images.md: a manifest's build provenance is not in the policy input;
// strata inspect -o json shows it, under the name the page gives.
func TestInspectJSONShowsBuildProvenanceWhereImagesMdSays(t *testing.T) {
	t.Parallel()
	if !strings.Contains(testutil.DocProse(t, "../../docs/images.md"), "`strata inspect -o json` shows it as `platforms[].image.provenance`") {
		t.Fatal("docs/images.md no longer says where strata inspect -o json shows the build provenance")
	}
	prov := &images.Provenance{StatementType: "https://in-toto.io/Statement/v0.1", Materials: []images.Material{{URI: "pkg:docker/debian@12"}}}
	ins := NewInspection(&images.Image{Ref: "registry.example.com/shop/web:1", Platforms: []*images.Facts{{Platform: "linux/amd64", Provenance: prov}}},
		func(*images.Facts) lineage.Lineage { return lineage.Lineage{} })
	var out bytes.Buffer
	if err := WriteInspectionJSON(&out, ins); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Platforms []struct {
			Image struct {
				Provenance *images.Provenance `json:"provenance"`
			} `json:"image"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Platforms) != 1 || doc.Platforms[0].Image.Provenance == nil || doc.Platforms[0].Image.Provenance.Materials[0].URI != "pkg:docker/debian@12" {
		t.Errorf("strata inspect -o json of an image with build provenance = %s; want it at platforms[].image.provenance", out.String())
	}
}
