package webhook

import (
	"unicode/utf8"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// maxDecisionLogLine bounds the bytes of one decision log line, however
// many containers a pod has and however long the registries' errors are.
// It is the sum of the budgets below plus the fixed fields, with room.
const maxDecisionLogLine = 24 << 10

// The budgets, in bytes as a JSON log handler writes them (escapes
// included). One 40-container pod against a registry with 60 KB error
// bodies wrote 2.4 MB before these.
const (
	logFieldBytes      = 256     // kind, namespace, name, user, uid
	logPoliciesBytes   = 1 << 10 // the violated policies' ids
	logViolationBytes  = 512     // one violation's message
	logViolationsBytes = 8 << 10 // all the violations kept
	logMessageBytes    = 2 << 10 // the denial message
	logViolationFixed  = 64      // a violation's keys and punctuation
	logImagesBytes     = 4 << 10 // the checked images and their digests
	logImageFixed      = 48      // an image's keys and punctuation
	logLineageBytes    = 2 << 10 // the evaluated platforms' chains
	logLineageFixed    = 48      // a platform's keys and punctuation
	logEdgeFixed       = 48      // an edge's keys and punctuation
)

// LineageLog is one evaluated platform's lineage in the decision log: each
// ancestor, root first, with who named it (catalog, annotation,
// provenance) and how it was verified (layers).
type LineageLog struct {
	Container string    `json:"container"`
	Platform  string    `json:"platform"`
	Chain     []EdgeLog `json:"chain"`
}

// EdgeLog is one ancestor of a LineageLog.
type EdgeLog struct {
	Digest   images.Digest `json:"digest"`
	Sources  []string      `json:"sources"`
	Verified string        `json:"verified"`
}

// lineageOf is what the decision log says of the lineages ex evaluated:
// the platforms whose chain is not empty.
func lineageOf(ex Examination) []LineageLog {
	n := 0
	for _, c := range ex.Containers {
		for _, p := range c.Platforms {
			if len(p.Lineage.Chain) > 0 {
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]LineageLog, 0, n)
	for _, c := range ex.Containers {
		for _, p := range c.Platforms {
			if len(p.Lineage.Chain) == 0 {
				continue
			}
			l := LineageLog{Container: c.Container.Name, Platform: p.Facts.Platform, Chain: make([]EdgeLog, len(p.Lineage.Chain))}
			for i, e := range p.Lineage.Chain {
				l.Chain[i] = EdgeLog{Digest: e.Digest, Sources: e.Sources, Verified: e.Verified}
			}
			out = append(out, l)
		}
	}
	return out
}

// lineage keeps, in order, the platforms' chains that fit logLineageBytes
// and returns how many it dropped.
func (b *logBudget) lineage(ls []LineageLog) ([]LineageLog, int) {
	return keepWithin(b, ls, logLineageBytes, func(l LineageLog) (LineageLog, int, int) {
		var c logBudget
		short := LineageLog{Container: c.cutTo(l.Container, logFieldBytes), Platform: c.cutTo(l.Platform, logFieldBytes), Chain: l.Chain}
		n := logLineageFixed + escapedLen(short.Container) + escapedLen(short.Platform)
		for _, e := range l.Chain {
			n += logEdgeFixed + digestLen(e.Digest) + len(e.Verified)
			for _, s := range e.Sources {
				n += len(s) + 3
			}
		}
		return short, n, c.cut
	}, func(l LineageLog) int {
		n := len(l.Container) + len(l.Platform)
		for _, e := range l.Chain {
			n += digestLen(e.Digest)
		}
		return n
	})
}

// logBudget cuts the values of one decision log line to their budgets and
// counts the bytes it cut, so that the line says what it leaves out.
type logBudget struct {
	cut int
}

func (b *logBudget) field(s string) string { return b.cutTo(s, logFieldBytes) }

func (b *logBudget) message(s string) string { return b.cutTo(s, logMessageBytes) }

// policies keeps the ids that fit logPoliciesBytes.
func (b *logBudget) policies(ids []string) []string {
	kept := make([]string, 0, len(ids))
	used := 0
	for _, id := range ids {
		n := escapedLen(id) + 3
		if used+n > logPoliciesBytes {
			b.cut += len(id)
			continue
		}
		used += n
		kept = append(kept, id)
	}
	return kept
}

// violations keeps, in order, the violations that fit logViolationsBytes,
// each message cut to logViolationBytes, and returns how many it dropped.
func (b *logBudget) violations(vs []policy.Violation) ([]policy.Violation, int) {
	return keepWithin(b, vs, logViolationsBytes, func(v policy.Violation) (policy.Violation, int, int) {
		var c logBudget
		short := policy.Violation{
			Policy:    c.cutTo(v.Policy, logFieldBytes),
			Action:    v.Action,
			Msg:       c.cutTo(v.Msg, logViolationBytes),
			Container: c.cutTo(v.Container, logFieldBytes),
			Platform:  c.cutTo(v.Platform, logFieldBytes),
		}
		return short, logViolationFixed + escapedLen(short.Policy) + escapedLen(string(short.Action)) +
			escapedLen(short.Msg) + escapedLen(short.Container) + escapedLen(short.Platform), c.cut
	}, func(v policy.Violation) int {
		return len(v.Policy) + len(v.Msg) + len(v.Container) + len(v.Platform)
	})
}

// images keeps, in order, the judged images that fit logImagesBytes, each
// name cut to logFieldBytes, and returns how many it dropped.
func (b *logBudget) images(js []JudgedImage) ([]JudgedImage, int) {
	return keepWithin(b, js, logImagesBytes, func(j JudgedImage) (JudgedImage, int, int) {
		var c logBudget
		short := JudgedImage{Container: c.cutTo(j.Container, logFieldBytes), Image: c.cutTo(j.Image, logFieldBytes), Digest: j.Digest}
		return short, logImageFixed + escapedLen(short.Container) + escapedLen(short.Image) + digestLen(short.Digest), c.cut
	}, func(j JudgedImage) int {
		return len(j.Container) + len(j.Image) + digestLen(j.Digest)
	})
}

// keepWithin keeps, in order, the items that fit budget once shortened
// (shorten returns the short item, its logged size and the bytes it cut:
// a count, not a *logBudget to add to, which would be an allocation an
// item), counts the bytes of every item it drops (sizeOf), and returns
// how many it dropped: a list of a log line is cut at its end, never in the
// middle, so that what is kept reads in order. Until shorten cuts an item,
// the items kept are items' own (a short item that lost nothing is the item):
// most lines cut nothing, and copying each list was an allocation.
func keepWithin[T any](b *logBudget, items []T, budget int, shorten func(item T) (short T, size, cut int), sizeOf func(T) int) ([]T, int) {
	var copied []T // nil until an item is cut
	used := 0
	for i, item := range items {
		short, n, cut := shorten(item)
		if used+n > budget {
			for _, rest := range items[i:] {
				b.cut += sizeOf(rest)
			}
			if copied == nil {
				return items[:i:i], len(items) - i
			}
			return copied, len(items) - i
		}
		used += n
		b.cut += cut
		if cut > 0 && copied == nil {
			copied = append(make([]T, 0, len(items)), items[:i]...)
		}
		if copied != nil {
			copied = append(copied, short)
		}
	}
	if copied == nil {
		return items, 0
	}
	return copied, 0
}

// cutTo returns the longest prefix of s, on a character boundary, whose
// escaped form fits max bytes (with "..." when cut), and counts the rest.
func (b *logBudget) cutTo(s string, max int) string {
	if escapedLen(s) <= max {
		return s
	}
	used, end := 0, 0
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		n := escapedRuneLen(r)
		if used+n > max-3 {
			break
		}
		used += n
		end += size
	}
	b.cut += len(s) - end
	return s[:end] + "..."
}

// escapedLen is an upper bound on the bytes s takes in a JSON or
// logfmt-quoted log line. ASCII, most of what a line holds, is counted a
// byte at a time from asciiEscapedLen; the rest a rune at a time.
func escapedLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= utf8.RuneSelf {
			for _, r := range s[i:] {
				n += escapedRuneLen(r)
			}
			return n
		}
		n += int(asciiEscapedLen[b])
	}
	return n
}

// asciiEscapedLen is escapedRuneLen of each ASCII character.
var asciiEscapedLen = func() (t [utf8.RuneSelf]uint8) {
	for r := range t {
		t[r] = uint8(escapedRuneLen(rune(r)))
	}
	return t
}()

// escapedRuneLen: control characters, quotes, HTML-sensitive characters,
// line separators and invalid bytes (read as U+FFFD) may each be written as a 6-byte
// \uXXXX escape; anything else as itself.
func escapedRuneLen(r rune) int {
	switch {
	case r == utf8.RuneError, r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return 6
	case r >= 0x80 && r < 0xa0:
		return 6
	}
	return utf8.RuneLen(r)
}
