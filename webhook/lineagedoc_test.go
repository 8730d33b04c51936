package webhook

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/lineage.md: the decision log line's lineage field holds the
// platforms whose chain is not empty, is bounded (2 KiB), and counts the
// platforms past the bound in lineageOmitted. The bound is logLineageBytes;
// a pod of twelve containers on the demo's two-level chain is past it, and
// its decision line says how many platforms it left out.
func TestLineageMdStatesTheDecisionLogLineageBound(t *testing.T) {
	t.Parallel()
	statement := fmt.Sprintf("It is bounded like the line's other fields (%d KiB; platforms past it are left out and counted in `lineageOmitted`)", logLineageBytes>>10)
	if logLineageBytes%1024 != 0 || !strings.Contains(testutil.DocProse(t, "../docs/lineage.md"), statement) {
		t.Errorf("docs/lineage.md does not say %q, which logLineageBytes (%d) makes true", statement, logLineageBytes)
	}

	p := newPipeline(t)
	var logs syncBuffer
	h := handlers(p.Checker, nil, slog.New(slog.NewJSONHandler(&logs, nil)))
	const containers = 12
	pod := podOf("many", p.Demo.Ref("shop/web:1.0"))
	var list []any
	for i := range containers {
		list = append(list, map[string]any{"name": fmt.Sprintf("c%d", i), "image": p.Demo.Ref("shop/web:1.0")})
	}
	pod["spec"] = map[string]any{"containers": list}
	admit(t, serveHandler(t, h["enforce"]).URL+"?timeout=10s", reviewOf(t, "lineage-bound", "Pod", "CREATE", pod, nil))
	var rec struct {
		Lineage []LineageLog `json:"lineage"`
		Omitted int          `json:"lineageOmitted"`
	}
	for _, l := range strings.Split(logs.Await(`"msg":"admission decision"`, 1), "\n") {
		if strings.Contains(l, `"msg":"admission decision"`) {
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("the decision log line is not JSON: %v", err)
			}
		}
	}
	raw, err := json.Marshal(rec.Lineage)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Omitted == 0 || len(rec.Lineage)+rec.Omitted != containers || len(raw) > logLineageBytes {
		t.Errorf("the decision line of %d containers keeps %d platforms' lineage (%d bytes) and counts %d in lineageOmitted; want the rest counted, within %d bytes",
			containers, len(rec.Lineage), len(raw), rec.Omitted, logLineageBytes)
	}

	// Only the platforms whose chain is not empty: an image of unknown base
	// adds no lineage to the line.
	admit(t, serveHandler(t, h["enforce"]).URL+"?timeout=10s", reviewOf(t, "no-chain", "Pod", "CREATE", podOf("legacy", p.Demo.Ref("shop/legacy:1.0")), nil))
	var found bool
	for _, l := range strings.Split(logs.Await(`"msg":"admission decision"`, 2), "\n") {
		if strings.Contains(l, `"uid":"no-chain"`) {
			found = true
			if strings.Contains(l, `"lineage"`) {
				t.Errorf("the decision line of an image of unknown base has a lineage field: %s", l)
			}
		}
	}
	if !found {
		t.Errorf("no decision line of the pod of unknown base in:\n%s", logs.String())
	}
}
