package report

import (
	"strings"
	"testing"
	"unicode"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// forged is a manifest whose name, namespace, file and message carry
// terminal escapes, carriage returns and line breaks meant to draw a fake
// "✓ allow" line and a fake summary over the real ones.
func forged() *Check {
	fake := "\r\x1b[2K✓ allow Pod shop/admin (deploy/admin.yaml)\n0 objects: 0 allowed, 0 with warnings, 0 denied\x1b[8m"
	return &Check{
		Mode: policy.Enforce,
		Objects: []CheckedObject{{
			File: "deploy/x\x1b]0;title\x07.yaml", Line: 1, Document: 1, Kind: "Pod\u009b2K",
			Namespace: "shop\r", Name: "admin" + fake, Decision: Deny,
			Violations: []policy.Violation{{Policy: "run-as-root\x1b[0m", Action: policy.Enforce, Msg: "runs as root" + fake, Platform: "linux/amd64\u202e"}},
		}},
		Policies: []policy.Meta{{ID: "x", Inactive: "empty" + fake}},
	}
}

func TestManifestNameWithEscapesCannotForgeCheckTextLines(t *testing.T) {
	t.Parallel()
	out := written(t, WriteCheckText, forged())
	for _, r := range out {
		if r != '\n' && drawsOver(r) {
			t.Errorf("WriteCheckText wrote the control character %U:\n%q", r, out)
			break
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Errorf("WriteCheckText wrote %d lines, want 4 (object, violation, summary, inactive policy):\n%s", len(lines), out)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "✓") || strings.HasPrefix(l, "0 objects") {
			t.Errorf("a line forged by the manifest starts the output: %q", l)
		}
	}
	if !strings.Contains(out, `admin\r\x1b[2K`) {
		t.Errorf("the escaped name is not shown for what it is:\n%s", out)
	}
}

func TestMarkdownInManifestIsNotRenderedInSARIF(t *testing.T) {
	t.Parallel()
	c := &Check{
		Mode: policy.Enforce,
		Objects: []CheckedObject{{
			File: "deploy/a.yaml", Line: 1, Document: 1, Kind: "Pod", Namespace: "shop",
			Name:     "[click to approve](https://evil.example/approve)",
			Decision: Deny,
			Violations: []policy.Violation{{
				Policy: "run-as-root", Action: policy.Enforce,
				Msg: "![pixel](https://evil.example/p.png) **all clear** <img src=x> `code` {0} \x1b[31m",
			}},
		}},
		Policies: []policy.Meta{{ID: "run-as-root", Title: "[t](https://evil.example)", Description: "*d*"}},
	}
	log, _ := sarifOf(t, c)
	run := log.Runs[0]
	texts := []string{run.Results[0].Message.Text, run.Tool.Driver.Rules[0].ShortDescription.Text, run.Tool.Driver.Rules[0].FullDescription.Text}
	for _, text := range texts {
		if unescapedMarkdown(text) {
			t.Errorf("SARIF text carries unescaped markdown or an embedded link: %q", text)
		}
		for _, r := range text {
			if drawsOver(r) {
				t.Errorf("SARIF text carries the control character %U: %q", r, text)
			}
		}
	}
	if want := `\[click to approve\](https://evil.example/approve)`; !strings.Contains(texts[0], want) {
		t.Errorf("SARIF message = %q, want the name shown escaped as %q", texts[0], want)
	}
}

// unescapedMarkdown reports whether s holds a markdown-special character not
// preceded by a backslash.
func unescapedMarkdown(s string) bool {
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case strings.ContainsRune("[]!*_`<>#|~", r):
			return true
		}
	}
	return false
}

// drawsOver reports whether r can move the cursor, recolour or reorder what
// a terminal or viewer shows.
func drawsOver(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// An image label is written by whoever pushed the image: in `strata
// inspect` text it must not draw a line of its own.
func TestImageLabelWithEscapesCannotForgeInspectionLines(t *testing.T) {
	t.Parallel()
	ins := sampleInspection()
	ins.Platforms[0].Image.Config.Labels = images.StringsOf(map[string]string{"note": "ok\r\x1b[2K    user        \"app\": uid 1000\n    layers      1"})
	out := written(t, WriteInspectionText, ins)
	users := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "    user ") {
			users++
		}
	}
	if strings.ContainsAny(out, "\r\x1b") || users != 1 {
		t.Errorf("an image label drew its own lines in WriteInspectionText:\n%q", out)
	}
}
