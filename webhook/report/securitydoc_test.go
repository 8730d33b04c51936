package report

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/security.md class 13 lists what Clean escapes: each listed kind of
// character, in a name, comes out as printable, valid text, and a name of
// ordinary characters, accents included, is left as it is.
func TestCleanEscapesEveryKindSecurityMdLists(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, "../../docs/security.md", "shown with control characters escaped (C0, DEL, C1 with ANSI CSI/OSC, CR, LF, bidi overrides, U+2028/2029, invalid UTF-8)")
	for what, s := range map[string]string{
		"C0": "a\x00b\x07", "DEL": "a\x7fb", "C1": "a\u0085b", "ANSI CSI": "a\x1b[2Kb\u009b2K", "ANSI OSC": "a\x1b]0;title\x07b",
		"CR": "a\rb", "LF": "a\nb", "bidi overrides": "a\u202eb\u202db\u2066", "U+2028/2029": "a\u2028b\u2029", "invalid UTF-8": "a\xffb\xc3",
	} {
		got := Clean(s)
		if !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool {
			return !unicode.IsPrint(r) && r != ' ' || unicode.Is(unicode.Bidi_Control, r)
		}) {
			t.Errorf("Clean(%s %q) = %q, want printable, valid text", what, s, got)
		}
	}
	if got := Clean("registry.example.com/café:1 ✓"); got != "registry.example.com/café:1 ✓" {
		t.Errorf("Clean of ordinary characters = %q, want them unchanged", got)
	}
}
