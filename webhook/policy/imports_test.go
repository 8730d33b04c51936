package policy

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEngineDependsOnNoPipelineStage keeps the engine standalone: the input
// is built outside it (webhook/input), so it must import no image, lineage
// or workload package, nor any other stage of the pipeline. Helpers under
// webhook/internal (an LRU, say) know no stage and are allowed.
func TestEngineDependsOnNoPipelineStage(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/strata-project/strata/") && !strings.HasPrefix(path, "github.com/strata-project/strata/webhook/internal/") {
				t.Errorf("%s imports %s: the engine must take an input value, not pipeline types", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source file of the engine found")
	}
}
