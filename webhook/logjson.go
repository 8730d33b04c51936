package webhook

import (
	"unicode/utf8"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// The lists of the decision and pin lines append themselves as JSON, which
// strata serve's LogHandler writes without encoding/json's reflection. Each
// writes exactly what encoding/json wrote for the plain slice, key for key,
// as slog's JSON handler asked it (no HTML escaping), so that any other
// handler writes the same line through MarshalJSON
// (TestLogListsAreWhatEncodingJSONWrites).

// policiesLog is the violated policies' ids.
type policiesLog []string

func (l policiesLog) MarshalJSON() ([]byte, error) { return l.appendJSON(nil), nil }

func (l policiesLog) appendJSON(b []byte) []byte { return appendStrings(b, l) }

// imagesLog is the judged images.
type imagesLog []JudgedImage

func (l imagesLog) MarshalJSON() ([]byte, error) { return l.appendJSON(nil), nil }

func (l imagesLog) appendJSON(b []byte) []byte {
	return appendArray(b, l, func(b []byte, j JudgedImage) []byte {
		b = appendMember(b, `{"container":`, j.Container)
		b = appendMember(b, `,"image":`, j.Image)
		if !j.Digest.IsZero() {
			b = appendDigest(append(b, `,"digest":`...), j.Digest)
		}
		return append(b, '}')
	})
}

// violationsLog is the violations.
type violationsLog []policy.Violation

func (l violationsLog) MarshalJSON() ([]byte, error) { return l.appendJSON(nil), nil }

func (l violationsLog) appendJSON(b []byte) []byte {
	return appendArray(b, l, func(b []byte, v policy.Violation) []byte {
		b = appendMember(b, `{"policy":`, v.Policy)
		b = appendMember(b, `,"action":`, string(v.Action))
		b = appendMember(b, `,"msg":`, v.Msg)
		b = appendMember(b, `,"container":`, v.Container)
		if v.Platform != "" {
			b = appendMember(b, `,"platform":`, v.Platform)
		}
		return append(b, '}')
	})
}

// lineageLog is the evaluated platforms' chains.
type lineageLog []LineageLog

func (l lineageLog) MarshalJSON() ([]byte, error) { return l.appendJSON(nil), nil }

func (l lineageLog) appendJSON(b []byte) []byte {
	return appendArray(b, l, func(b []byte, p LineageLog) []byte {
		b = appendMember(b, `{"container":`, p.Container)
		b = appendMember(b, `,"platform":`, p.Platform)
		b = appendArray(append(b, `,"chain":`...), p.Chain, func(b []byte, e EdgeLog) []byte {
			b = appendDigest(append(b, `{"digest":`...), e.Digest)
			b = appendStrings(append(b, `,"sources":`...), e.Sources)
			b = appendMember(b, `,"verified":`, e.Verified)
			return append(b, '}')
		})
		return append(b, '}')
	})
}

// pinsLog is a pin line's pinned images.
type pinsLog []Pin

func (l pinsLog) MarshalJSON() ([]byte, error) { return l.appendJSON(nil), nil }

func (l pinsLog) appendJSON(b []byte) []byte {
	return appendArray(b, l, func(b []byte, p Pin) []byte {
		b = appendMember(b, `{"container":`, p.Container)
		b = appendMember(b, `,"image":`, p.Image)
		b = appendMember(b, `,"pinned":`, p.Pinned)
		b = appendMember(b, `,"digest":`, p.Digest)
		return append(b, '}')
	})
}

// appendArray appends items as a JSON array, each by appendItem; nil is
// null, as encoding/json writes a nil slice.
func appendArray[T any](b []byte, items []T, appendItem func([]byte, T) []byte) []byte {
	if items == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, item := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(b, item)
	}
	return append(b, ']')
}

// appendStrings appends ss as a JSON array of strings.
func appendStrings(b []byte, ss []string) []byte {
	return appendArray(b, ss, func(b []byte, s string) []byte { return appendLogString(b, s, encodingJSONEscapes) })
}

// appendMember appends what comes before a string member's value (the
// punctuation and its key), then the value.
func appendMember(b []byte, before, value string) []byte {
	return appendLogString(append(b, before...), value, encodingJSONEscapes)
}

// appendDigest appends d as its JSON string, "" when unset.
func appendDigest(b []byte, d images.Digest) []byte {
	b = append(b, '"')
	b, _ = d.AppendText(b)
	return append(b, '"')
}

// digestLen is the length of d's string form.
func digestLen(d images.Digest) int {
	if d.IsZero() {
		return 0
	}
	return len("sha256:") + 2*len(d)
}

// The two ways of escaping a string that a decision line holds: the lists
// as encoding/json wrote them, the other strings as slog's JSON handler
// writes them. They differ only in \b and \f, which encoding/json writes
// short and slog as \u0008 and \u000c.
const (
	encodingJSONEscapes = true
	slogEscapes         = false
)

// appendLogString appends s as a JSON string without HTML escaping, as
// slog's JSON handler writes strings and has encoding/json write values:
// '"', '\\' and control characters escaped (\b and \f short when
// shortBF), invalid UTF-8 written as U+FFFD, and U+2028 and U+2029 escaped
// for JavaScript's sake.
func appendLogString(b []byte, s string, shortBF bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b', '\f':
				if !shortBF {
					b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
				} else if c == '\b' {
					b = append(b, '\\', 'b')
				} else {
					b = append(b, '\\', 'f')
				}
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
