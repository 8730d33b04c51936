// Package chartdocs reads the helm commands the chart's README and NOTES.txt
// show, so that the render tests and the e2e suite run them as written, and
// says which modes' webhook entries a namespace falls under.
package chartdocs

import (
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// SetArgs returns the --set, --set-string and --set-file arguments of a
// helm command line as helm would receive them, the shell's single quotes
// removed.
func SetArgs(line string) []string {
	var words []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	var out []string
	for i := 0; i+1 < len(words); i++ {
		if slices.Contains([]string{"--set", "--set-string", "--set-file"}, words[i]) {
			out = append(out, words[i], words[i+1])
		}
	}
	return out
}

// UpgradeSteps returns the values of each upgrade a document tells an
// adopter to run, in order: the lines with --reuse-values, and NOTES.txt's
// "make it the default:" line, which gives only the --set arguments.
func UpgradeSteps(doc string) [][]string {
	var steps [][]string
	for line := range strings.SplitSeq(doc, "\n") {
		if strings.Contains(line, "--reuse-values") || strings.Contains(line, "make it the default:") {
			if args := SetArgs(line); len(args) > 0 {
				steps = append(steps, args)
			}
		}
	}
	return steps
}

// NamespaceModes returns the modes whose validating entries the API server
// would call for a namespace named ns, by evaluating each entry's
// namespaceSelector as the API server does; an entry's mode is the
// element after /validate/ of its path (/validate/<mode>, or
// /validate/<mode>/pinned where pinning is on).
func NamespaceModes(vwc admissionv1.ValidatingWebhookConfiguration, ns string) ([]string, error) {
	var got []string
	for _, w := range vwc.Webhooks {
		if w.ClientConfig.Service == nil || w.ClientConfig.Service.Path == nil {
			continue
		}
		mode, ok := strings.CutPrefix(*w.ClientConfig.Service.Path, "/validate/")
		if !ok {
			continue
		}
		mode = strings.TrimSuffix(mode, "/pinned")
		sel, err := metav1.LabelSelectorAsSelector(w.NamespaceSelector)
		if err != nil {
			return nil, err
		}
		if sel.Matches(labels.Set{"kubernetes.io/metadata.name": ns}) {
			got = append(got, mode)
		}
	}
	return got, nil
}
