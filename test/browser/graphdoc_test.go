//go:build browser

package browser

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/strata-project/strata/webhook/graph"
)

// viewOf reads the viewport's transform: translate(x,y) scale(k).
func viewOf(t *testing.T, b *browser) (x, y, k float64) {
	t.Helper()
	tr := eval[string](t, b, `document.getElementById('viewport').getAttribute('transform')`)
	m := regexp.MustCompile(`^translate\((-?[\d.e+-]+),(-?[\d.e+-]+)\) scale\(([\d.e+-]+)\)$`).FindStringSubmatch(tr)
	if m == nil {
		t.Fatalf("the viewport's transform is %q", tr)
	}
	f := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("the viewport's transform %q: %v", tr, err)
		}
		return v
	}
	return f(m[1]), f(m[2]), f(m[3])
}

// near says whether a and b agree to a part in a million.
func near(a, b float64) bool { return a-b < 1e-6*max(1, b) && b-a < 1e-6*max(1, b) }

// docs/graph.md's HTML page: bases by depth at the top, then images, then
// workloads; drag to pan, wheel or +/− to zoom, fit; search by name,
// reference, namespace or digest; DENIED beside ✗ n on the nodes that
// deny; bases, images and workloads in different shapes; a legend.
func TestGraphPageDoesWhatGraphMdSays(t *testing.T) {
	raw, err := os.ReadFile("../../docs/graph.md")
	if err != nil {
		t.Fatal(err)
	}
	prose := strings.Join(strings.Fields(string(raw)), " ")
	for _, want := range []string{
		"Bases by depth at the top, then images, then workloads; drag to pan, wheel or `+`/`−` to zoom, `fit`; search by name, reference, namespace or digest",
		"nodes with violations have a red border and `✗ n` (`DENIED` when they deny); bases, images and workloads differ in shape; a legend says so",
	} {
		if !strings.Contains(prose, want) {
			t.Errorf("docs/graph.md does not say %q, which this test asserts", want)
		}
	}
	g := family()
	// A reference that is not the label, to be found by search.
	web := slices.IndexFunc(g.Nodes, func(n graph.Node) bool { return n.ID == image("shop/web:1.0") })
	g.Nodes[web].Refs = append(g.Nodes[web].Refs, reg+"/shop/storefront-alias:1")
	path, _ := writePage(t, g)
	b := newBrowser(t)
	b.open(t, "file://"+path)

	// Layers: the bases by level, then the images, then the workloads;
	// every node of an earlier layer is drawn above every node of a later.
	ys := eval[map[string]float64](t, b, `Object.fromEntries(Array.from(document.querySelectorAll('#nodes .node')).map(e => [e.dataset.id, e.transform.baseVal[0].matrix.f]))`)
	kinds := []graph.Kind{graph.KindBase, graph.KindImage, graph.KindWorkload}
	layer := func(n graph.Node) int { return slices.Index(kinds, n.Kind)*1000 + n.Level }
	for _, a := range g.Nodes {
		for _, c := range g.Nodes {
			if layer(a) < layer(c) && ys[a.ID] >= ys[c.ID] {
				t.Errorf("%s (%s, level %d) is drawn at y %v, not above %s (%s, level %d) at y %v", a.ID, a.Kind, a.Level, ys[a.ID], c.ID, c.Kind, c.Level, ys[c.ID])
			}
		}
	}

	// Shapes: one corner radius per kind, three kinds, three shapes.
	radii := eval[map[string]string](t, b, `Object.fromEntries(['base', 'image', 'workload'].map(k => [k, Array.from(new Set(Array.from(document.querySelectorAll('#nodes .node.' + k + ' rect')).map(r => r.getAttribute('rx')))).join(' ')]))`)
	if len(radii) != 3 || strings.Contains(radii["base"]+radii["image"]+radii["workload"], " ") ||
		radii["base"] == radii["image"] || radii["image"] == radii["workload"] || radii["base"] == radii["workload"] {
		t.Errorf("corner radii by kind = %v, want one per kind, each different", radii)
	}
	legend := eval[string](t, b, `document.getElementById('legend').textContent`)
	for _, want := range []string{"base", "image", "workload", "STALE", "✗ n", "DENIED"} {
		if !strings.Contains(legend, want) {
			t.Errorf("the legend %q does not say %q", legend, want)
		}
	}
	tags := eval[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll('#nodes .node.violating')).map(e => [e.dataset.id, e.querySelector('text.tag.viol').textContent]))`)
	for _, n := range g.Nodes {
		if n.Violations == 0 {
			continue
		}
		want := "✗ " + strconv.Itoa(n.Violations)
		if n.Denied {
			want = "DENIED " + want
		}
		if tags[n.ID] != want {
			t.Errorf("%s's tag = %q, want %q", n.ID, tags[n.ID], want)
		}
	}

	// Zoom: + and − by a quarter and a fifth, the wheel by 15%, fit back
	// to where the page opened; a drag pans by as much as the mouse moved.
	x0, y0, k0 := viewOf(t, b)
	b.do(t, "zooming in", chromedp.Click(chromedp.CSS(`#zoom-in`)))
	if _, _, k := viewOf(t, b); !near(k, k0*1.25) {
		t.Errorf("+ zoomed from %v to %v, want ×1.25", k0, k)
	}
	b.do(t, "zooming out", chromedp.Click(chromedp.CSS(`#zoom-out`)))
	if _, _, k := viewOf(t, b); !near(k, k0) {
		t.Errorf("+ then − zoomed from %v to %v, want back", k0, k)
	}
	eval[bool](t, b, `document.getElementById('canvas').dispatchEvent(new WheelEvent('wheel', {deltaY: -100, clientX: 200, clientY: 200, bubbles: true, cancelable: true}))`)
	if _, _, k := viewOf(t, b); !near(k, k0*1.15) {
		t.Errorf("the wheel zoomed from %v to %v, want ×1.15", k0, k)
	}
	b.do(t, "fitting", chromedp.Click(chromedp.CSS(`#fit`)))
	if x, y, k := viewOf(t, b); !near(x, x0) || !near(y, y0) || !near(k, k0) {
		t.Errorf("fit = (%v, %v, %v), want the opening view (%v, %v, %v)", x, y, k, x0, y0, k0)
	}
	eval[bool](t, b, `(() => {
		const c = document.getElementById('canvas');
		c.dispatchEvent(new MouseEvent('mousedown', {clientX: 100, clientY: 100, bubbles: true}));
		window.dispatchEvent(new MouseEvent('mousemove', {clientX: 150, clientY: 130}));
		window.dispatchEvent(new MouseEvent('mouseup', {}));
		return true;
	})()`)
	if x, y, k := viewOf(t, b); !near(x, x0+50) || !near(y, y0+30) || !near(k, k0) {
		t.Errorf("a drag by (50, 30) moved the view from (%v, %v) to (%v, %v), scale %v → %v", x0, y0, x, y, k0, k)
	}

	// Search by name, reference, namespace and digest.
	var inPayments []string
	for _, n := range g.Nodes {
		if n.Namespace == "payments" || strings.Contains(n.Label, "payments") {
			inPayments = append(inPayments, n.ID)
		}
	}
	for _, tc := range []struct {
		what, query string
		want        []string
	}{
		{"name", "tools/busybox", []string{image("tools/busybox:1.36")}},
		{"reference", "storefront-alias", []string{image("shop/web:1.0")}},
		{"namespace", "payments", inPayments},
		{"digest", strings.TrimPrefix(debianNew, "sha256:")[:16], []string{"base:" + debianNew}},
	} {
		eval[bool](t, b, `(() => { const s = document.getElementById('search'); s.value = `+jsString(tc.query)+`; s.dispatchEvent(new Event('input')); return true; })()`)
		got := eval[[]string](t, b, `Array.from(document.querySelectorAll('#nodes .node.match')).map(e => e.dataset.id)`)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("search by %s %q matched %q, want %q", tc.what, tc.query, got, want)
		}
	}
}
