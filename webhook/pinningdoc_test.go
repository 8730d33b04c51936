package webhook

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/internal/testutil"
)

// What docs/pinning.md names is what the code and the chart hold: each
// golden case it lists has its testdata/pin request, the match conditions
// it names are PinMatchConditions' in order, and the values it shows are
// the chart's pinDigests defaults.
func TestPinningDocumentNamesWhatTheCodeHolds(t *testing.T) {
	t.Parallel()
	var named, want []string
	for _, c := range PinMatchConditions() {
		want = append(want, c.Name)
	}
	_, golden, ok := strings.Cut(testutil.DocSection(t, "../docs/pinning.md", "## What `/mutate/pin` does"), "`TestPinGolden` holds a golden response for each case above (")
	golden, _, _ = strings.Cut(golden, "under")
	cases := regexp.MustCompile("`([a-z-]+)`").FindAllStringSubmatch(golden, -1)
	if !ok || len(cases) < 10 {
		t.Fatalf("docs/pinning.md lists %d golden cases of TestPinGolden, want the dozen it names", len(cases))
	}
	for _, c := range cases {
		if _, err := os.Stat(filepath.Join("testdata", "pin", c[1]+".request.json")); err != nil {
			t.Errorf("docs/pinning.md names the golden case %s: %v", c[1], err)
		}
	}

	chart := testutil.DocSection(t, "../docs/pinning.md", "## Chart")
	for _, m := range regexp.MustCompile("(?m)^- `([a-z-]+)`: ").FindAllStringSubmatch(chart, -1) {
		named = append(named, m[1])
	}
	if !slices.Equal(named, want) {
		t.Errorf("docs/pinning.md explains the match conditions %q; PinMatchConditions are %q", named, want)
	}

	block := regexp.MustCompile("(?s)```yaml\n# values.yaml\n(.*?)```").FindStringSubmatch(chart)
	if block == nil {
		t.Fatal("docs/pinning.md shows no values.yaml block")
	}
	var documented, values map[string]any
	if err := yaml.Unmarshal([]byte(block[1]), &documented); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(testutil.ReadFile(t, "../charts/strata/values.yaml"), &values); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(documented["pinDigests"], values["pinDigests"]) {
		t.Errorf("docs/pinning.md shows pinDigests %v; the chart's values.yaml has %v", documented["pinDigests"], values["pinDigests"])
	}
}

// A pin request that pins nothing for a reason says why in its log line's
// note (docs/pinning.md): an exempt namespace, not a Pod, an invalid object.
func TestPinLogLineSaysWhyNothingWasPinned(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	var logs syncBuffer
	checker := NewChecker(CheckerOptions{Resolver: newResolver(t, p.Demo.Addr), Lineage: p.Catalog, Evaluator: p.Engine, ExemptNamespaces: []string{"kube-system"}})
	srv := servePinner(t, NewPinner(PinnerOptions{Checker: checker, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}))
	for golden, want := range map[string]string{
		"exempt-namespace": "namespace kube-system is exempt",
		"deployment":       "not a Pod",
		"invalid-pod":      "the object is not a valid Pod",
	} {
		body := testutil.ReadFile(t, filepath.Join("testdata", "pin", golden+".request.json"))
		if r := admit(t, srv.URL, body); !r.Allowed || len(r.Patch) != 0 {
			t.Errorf("pin(%s) = allowed %v, patch %s; want allowed, untouched", golden, r.Allowed, r.Patch)
		}
		if !strings.Contains(logs.String(), `"note":"`+want+`"`) {
			t.Errorf("pin(%s) logged %s, want the note %q", golden, logs.String(), want)
		}
	}
}

// An image whose index has no manifest of a configured platform is checked
// on the platforms it has (for nodes strata was not told about), and pinned
// as any other (docs/pinning.md): only an image resolved to no platform
// image at all, a resolution failure, is left as written.
func TestPinPinsAnImageOfNoConfiguredPlatform(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	digest := pushIndex(t, p.Demo.Addr, "shop/mainframe", []string{"1.0"}, "s390x")
	image := p.Demo.Ref("shop/mainframe:1.0")
	r := admit(t, servePinner(t, NewPinner(PinnerOptions{Checker: p.Checker})).URL, reviewOf(t, "uid-s390x", "Pod", "CREATE", podOf("app", image), nil))
	pinnedTo(patchOp{Op: "replace", Path: "/spec/containers/0/image", Value: image + "@" + digest})(t, r)
}
