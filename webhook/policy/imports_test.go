package policy

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// TestEngineDependsOnNoPipelineStage keeps the engine standalone: the input
// is built outside it (webhook/input), so it must import no image, lineage
// or workload package, nor any other stage of the pipeline. Helpers under
// webhook/internal (an LRU, say) know no stage and are allowed.
func TestEngineDependsOnNoPipelineStage(t *testing.T) {
	t.Parallel()
	for _, name := range testutil.SourceFiles(t) {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/strata-project/strata/") && !strings.HasPrefix(path, "github.com/strata-project/strata/webhook/internal/") {
				t.Errorf("%s imports %s: the engine must take an input value, not pipeline types", name, path)
			}
		}
	}
}
