package images

import (
	"fmt"

	"github.com/gobwas/glob"
)

// Pattern is a glob on canonical image references (or on tags), in the one
// dialect strata's patterns share — exempt.images, the catalog's tag
// patterns and the approvedBases the policies match with Rego's glob.match
// and "/" as the separator, which compiles them with this same library:
// * and ? stop at /, ** crosses it, [a-z] and [!a] are classes, {a,b} are
// alternatives, and \ escapes.
type Pattern struct{ g *glob.Pattern }

// PatternChars are the characters that make a string a pattern rather than
// a literal.
const PatternChars = "*?[{"

// CompilePattern compiles s, or says why it is not a pattern.
func CompilePattern(s string) (Pattern, error) {
	g, err := glob.Compile(s, '/')
	if err != nil {
		return Pattern{}, fmt.Errorf("pattern %q: %w", s, err)
	}
	return Pattern{g: g}, nil
}

// Match reports whether s matches the pattern.
func (p Pattern) Match(s string) bool { return p.g != nil && p.g.Match(s) }

// String returns the pattern as written.
func (p Pattern) String() string {
	if p.g == nil {
		return ""
	}
	return p.g.String()
}
