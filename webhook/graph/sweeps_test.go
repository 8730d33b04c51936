package graph

import (
	"regexp"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/graph.md: the page orders each layer with "four rounds of
// barycenter sweeps, up then down": the count is page.js's loop bound.
func TestGraphDocumentCountsThePagesBarycenterRounds(t *testing.T) {
	t.Parallel()
	js, doc := testutil.ReadFile(t, "page/page.js"), testutil.ReadFile(t, "../../docs/graph.md")
	rounds := regexp.MustCompile(`for \(var it = 0; it < (\d+); it\+\+\) \{\n\s+for \(var i = 1; i < order.length; i\+\+\) sweep\(order\[i\], "up"\);\n\s+for \(var j = order.length - 2; j >= 0; j--\) sweep\(order\[j\], "down"\);`).FindSubmatch(js)
	if rounds == nil {
		t.Fatal("page/page.js has no loop of up and down sweeps")
	}
	words := map[string]string{"1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven", "8": "eight"}
	want := words[string(rounds[1])] + " rounds of barycenter sweeps, up then down"
	if prose := strings.Join(strings.Fields(string(doc)), " "); !strings.Contains(prose, "("+want+":") {
		t.Errorf("docs/graph.md does not say %q, which page.js does", want)
	}
}
