package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// Bounds on what a response carries, so that a pod with fifty failing
// containers still gets a readable answer within the API server's limits.
const (
	maxDenialLines  = 10
	maxWarnings     = 20
	maxWarningBytes = 512
	// maxWarningRunes is the API server's budget of warning text per
	// request: past it, it cuts every warning to 256 runes and drops the
	// rest (k8s.io/apiserver/pkg/endpoints/filters/warning.go).
	maxWarningRunes = 4 << 10
	maxAuditBytes   = 8 << 10
)

// Decision is what strata answers for one object.
type Decision struct {
	Allowed  bool
	Message  string   // the denial, when not allowed
	Warnings []string // kubectl prints these as "Warning: ..."
	// Audit is the JSON of the violations recorded without effect, for the
	// response's auditAnnotations.
	Audit string
	// Violations carry their effective action: the milder of the mode's and
	// the policy's.
	Violations []policy.Violation
	// Lineage is, for the decision log, each evaluated platform's chain:
	// every ancestor, who named it and how it was verified.
	Lineage []LineageLog
	// Images are the checked containers' images and the digests they
	// resolved to, for the decision log: what was judged, not only its name.
	Images []JudgedImage
}

// JudgedImage is one checked container's image as the decision log names
// it. Digest is unset, and left out, when the image was not resolved.
type JudgedImage struct {
	Container string        `json:"container"`
	Image     string        `json:"image"`
	Digest    images.Digest `json:"digest,omitzero"`
}

// judgedImages lists what an examination resolved, in container order.
func judgedImages(ex Examination) []JudgedImage {
	out := make([]JudgedImage, 0, len(ex.Containers))
	for _, e := range ex.Containers {
		j := JudgedImage{Container: e.Container.Name, Image: e.Container.Image}
		if e.Image != nil {
			j.Digest = e.Image.Digest
		}
		out = append(out, j)
	}
	return out
}

// Decide applies the mode to the violations: each acts with the milder of
// the mode and its policy's own action. Nothing denies in audit mode.
func Decide(mode policy.Action, violations []policy.Violation) Decision {
	d := Decision{Allowed: true}
	var denials, warnings, audits []policy.Violation
	for _, v := range violations {
		v.Action = policy.Milder(mode, v.Action)
		d.Violations = append(d.Violations, v)
		switch v.Action {
		case policy.Enforce:
			denials = append(denials, v)
		case policy.Warn:
			warnings = append(warnings, v)
		case policy.Audit:
			audits = append(audits, v)
		}
	}
	if len(warnings) > 0 {
		d.Warnings = warningLines(warnings)
	}
	if len(denials) > 0 {
		d.Allowed = false
		d.Message = denialMessage(denials)
	}
	if len(audits) > 0 {
		d.Audit = auditJSON(audits)
	}
	return d
}

// line renders one violation as "[policy] message (platform)", on one line.
func line(v policy.Violation) string {
	// One concatenation, one allocation.
	if v.Platform == "" {
		return "[" + v.Policy + "] " + oneLine(v.Msg)
	}
	return "[" + v.Policy + "] " + oneLine(v.Msg) + " (" + v.Platform + ")"
}

// oneLine replaces control characters with spaces: the API server drops a
// warning that holds one, and a denial shows one violation per line, but a
// registry's error page reaches resolution messages with its newlines.
// Invalid UTF-8 becomes U+FFFD.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// warningLines renders up to maxWarnings warnings, then a line counting them
// all, within the API server's budget of warning text.
func warningLines(vs []policy.Violation) []string {
	var out []string
	budget := maxWarningRunes - 64 // room for the count line
	for i, v := range vs {
		w := truncate(line(v), maxWarningBytes)
		n := utf8.RuneCountInString(w)
		if i == maxWarnings || n > budget {
			return append(out, fmt.Sprintf("strata: more warnings not shown (%d in all)", len(vs)))
		}
		budget -= n
		out = append(out, w)
	}
	return out
}

func denialMessage(denials []policy.Violation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "strata denied this object: %d violation%s", len(denials), plural(len(denials)))
	for i, v := range denials {
		if i == maxDenialLines {
			fmt.Fprintf(&b, "\n... and %d more", len(denials)-maxDenialLines)
			break
		}
		b.WriteString("\n")
		b.WriteString(truncate(line(v), maxWarningBytes))
	}
	return b.String()
}

// auditJSON keeps as many violations as fit in the annotation's budget,
// each message cut as a warning is, so that one long message cannot hide
// which policy was violated.
func auditJSON(vs []policy.Violation) string {
	short := make([]policy.Violation, len(vs))
	for i, v := range vs {
		v.Msg = truncate(v.Msg, maxWarningBytes)
		short[i] = v
	}
	for n := len(short); n > 0; n /= 2 {
		raw, err := json.Marshal(short[:n])
		if err == nil && len(raw) <= maxAuditBytes {
			return string(raw)
		}
	}
	return fmt.Sprintf(`[{"policy":"strata","msg":"%d violations, too many to record here; see the decision log"}]`, len(vs))
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
