package manifest

import (
	"strings"
	"testing"
)

// Valid JSON that YAML does not read alike: "\/" (which PHP's, Java's and
// other encoders write for every slash) and a surrogate pair (an emoji in
// an annotation, escaped). kubectl applies such a file; strata check read
// its JSON as YAML, which knows neither escape, and refused the file, so a
// CI gate on JSON from such a generator could only fail, and a reviewer
// learned to wave the failure through.
func TestJSONEscapesYAMLDoesNotKnowAreRead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, stdin string }{
		{`escaped slashes`, strings.ReplaceAll(rootPodJSON, "/", `\/`)},
		{`a surrogate pair`, strings.Replace(rootPodJSON, `"namespace": "shop"}`, `"namespace": "shop", "annotations": {"team": "\ud83d\ude80"}}`, 1)},
		{`a JSON stream with both`, `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c\ud83d\ude80"}}` + strings.ReplaceAll(rootPodJSON, "/", `\/`)},
	} {
		ms, n, err := readStdin(tc.stdin)
		read := 1
		if strings.Contains(tc.stdin, "ConfigMap") {
			read = 2
		}
		wantRootPod(t, "JSON with "+tc.name, ms, n, err, 0, read)
	}
}
