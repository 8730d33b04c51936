package images

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// The bounds a publisher or a tenant meets, as docs/images.md,
// docs/troubleshooting.md and docs/security.md state them, are the code's: a changed bound fails here.
func TestDocsStateTheImageAndPullSecretBounds(t *testing.T) {
	t.Parallel()
	for _, want := range []struct{ doc, statement string }{
		{"../../docs/images.md", fmt.Sprintf("An image of more than %s layers or %s build steps in its history is `too-complex`", testutil.Thousands(maxImageLayers), testutil.Thousands(maxImageHistory))},
		{"../../docs/troubleshooting.md", fmt.Sprintf("or an image of more than %s layers or %s build steps |", testutil.Thousands(maxImageLayers), testutil.Thousands(maxImageHistory))},
		{"../../docs/security.md", fmt.Sprintf("their own (%d per second, in bursts of one such pod)", DefaultNamespaceRate)},
		{"../../docs/security.md", fmt.Sprintf("At most %d pull secrets are read for a pod", maxPullSecrets)},
	} {
		doc := strings.Join(strings.Fields(string(testutil.ReadFile(t, want.doc))), " ")
		if !strings.Contains(doc, want.statement) {
			t.Errorf("%s does not say %q, which the code's bounds make true", want.doc, want.statement)
		}
	}
}
