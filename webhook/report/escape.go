package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean makes a value read from a manifest, an image or a registry safe to
// print on one line of a terminal: control characters (C0, DEL, C1, and so
// ANSI escapes and carriage returns), line and paragraph separators, bidi
// overrides and invalid UTF-8 are written as Go escapes (\x1b, \r, \u202e),
// so that a name can neither move the cursor, recolour the screen, start a
// line of its own nor reorder what follows it. Anything else is unchanged.
func Clean(s string) string {
	if !needsCleaning(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case forges(r):
			b.WriteString(escapeRune(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsCleaning(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if forges(r) {
			return true
		}
	}
	return false
}

// forges reports whether r changes how the rest of the output is shown
// rather than showing itself.
func forges(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if r < 0x100 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// markdownSpecial are the characters a SARIF viewer may render: SARIF's
// own embedded links ([text](uri), §3.11.6), and GitHub-flavoured
// markdown's links, images, emphasis, code, HTML, headings, tables and
// strikethrough. Parentheses are left alone: without an unescaped bracket
// before them they link nothing. Placeholders ({0}) are not substituted:
// strata's messages carry no arguments.
const markdownSpecial = "\\[]!*_`<>#|~"

// plainSARIF makes s safe for a SARIF message's text property: cleaned of
// control characters as for a terminal, with every markdown-special
// character escaped by a backslash, the escape SARIF defines for plain
// text messages (§3.11.6), so that a tenant's name cannot become a link,
// an image or emphasis in a code-scanning view.
func plainSARIF(s string) string {
	s = Clean(s)
	if !strings.ContainsAny(s, markdownSpecial) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(markdownSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
