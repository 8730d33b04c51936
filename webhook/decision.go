package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/strata-project/strata/webhook/policy"
)

// Bounds on what a response carries, so that a pod with fifty failing
// containers still gets a readable answer within the API server's limits.
const (
	maxDenialLines  = 10
	maxWarnings     = 20
	maxWarningBytes = 512
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
}

// Decide applies the mode to the violations: each acts with the milder of
// the mode and its policy's own action. Nothing denies in audit mode.
func Decide(mode policy.Action, violations []policy.Violation) Decision {
	d := Decision{Allowed: true}
	var denials, audits []policy.Violation
	for _, v := range violations {
		v.Action = policy.Milder(mode, v.Action)
		d.Violations = append(d.Violations, v)
		switch v.Action {
		case policy.Enforce:
			denials = append(denials, v)
		case policy.Warn:
			if len(d.Warnings) < maxWarnings {
				d.Warnings = append(d.Warnings, truncate(line(v), maxWarningBytes))
			} else if len(d.Warnings) == maxWarnings {
				d.Warnings = append(d.Warnings, fmt.Sprintf("strata: more warnings not shown (%d in all)", countAction(violations, mode, policy.Warn)))
			}
		case policy.Audit:
			audits = append(audits, v)
		}
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

// line renders one violation as "[policy] message (platform)".
func line(v policy.Violation) string {
	s := "[" + v.Policy + "] " + v.Msg
	if v.Platform != "" {
		s += " (" + v.Platform + ")"
	}
	return s
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

// auditJSON keeps as many violations as fit in the annotation's budget.
func auditJSON(vs []policy.Violation) string {
	for n := len(vs); n > 0; n /= 2 {
		raw, err := json.Marshal(vs[:n])
		if err == nil && len(raw) <= maxAuditBytes {
			return string(raw)
		}
	}
	return fmt.Sprintf(`[{"policy":"strata","msg":"%d violations, too many to record here; see the decision log"}]`, len(vs))
}

func countAction(vs []policy.Violation, mode, action policy.Action) int {
	n := 0
	for _, v := range vs {
		if policy.Milder(mode, v.Action) == action {
			n++
		}
	}
	return n
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
