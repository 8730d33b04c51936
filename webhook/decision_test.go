package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/strata-project/strata/webhook/policy"
)

func violations(n int, action policy.Action, msg func(i int) string) []policy.Violation {
	vs := make([]policy.Violation, n)
	for i := range vs {
		vs[i] = policy.Violation{Policy: "p", Action: action, Msg: msg(i), Container: fmt.Sprintf("c%d", i), Platform: "linux/amd64"}
	}
	return vs
}

func TestDecideMilderWins(t *testing.T) {
	t.Parallel()
	const (
		denies = "denies"
		warns  = "warns"
		audits = "audits"
		none   = "nothing"
	)
	for _, tc := range []struct {
		mode, action policy.Action
		want         policy.Action
		does         string
	}{
		{policy.Enforce, policy.Enforce, policy.Enforce, denies},
		{policy.Enforce, policy.Warn, policy.Warn, warns},
		{policy.Enforce, policy.Audit, policy.Audit, audits},
		{policy.Enforce, policy.Off, policy.Off, none},
		{policy.Warn, policy.Enforce, policy.Warn, warns},
		{policy.Warn, policy.Warn, policy.Warn, warns},
		{policy.Warn, policy.Audit, policy.Audit, audits},
		{policy.Warn, policy.Off, policy.Off, none},
		{policy.Audit, policy.Enforce, policy.Audit, audits},
		{policy.Audit, policy.Warn, policy.Audit, audits},
		{policy.Audit, policy.Audit, policy.Audit, audits},
		{policy.Audit, policy.Off, policy.Off, none},
	} {
		t.Run(string(tc.mode)+"/"+string(tc.action), func(t *testing.T) {
			t.Parallel()
			v := policy.Violation{Policy: "run-as-root", Action: tc.action, Msg: `container "app" runs as root`, Container: "app"}
			d := Decide(tc.mode, []policy.Violation{v})
			got := none
			switch {
			case !d.Allowed:
				got = denies
			case len(d.Warnings) > 0:
				got = warns
			case d.Audit != "":
				got = audits
			}
			if got != tc.does || (got == denies) != (d.Message != "") {
				t.Errorf("Decide(%s, [%s violation]) %s (message %q, warnings %q, audit %q), want it %s",
					tc.mode, tc.action, got, d.Message, d.Warnings, d.Audit, tc.does)
			}
			if len(d.Violations) != 1 || d.Violations[0].Action != tc.want {
				t.Errorf("Decide(%s, [%s violation]).Violations = %+v, want one with action %s", tc.mode, tc.action, d.Violations, tc.want)
			}
		})
	}
}

func TestDecideNothing(t *testing.T) {
	t.Parallel()
	for _, mode := range []policy.Action{policy.Enforce, policy.Warn, policy.Audit} {
		d := Decide(mode, nil)
		if !d.Allowed || d.Message != "" || d.Warnings != nil || d.Audit != "" || d.Violations != nil {
			t.Errorf("Decide(%s, nil) = %+v, want allowed and nothing else", mode, d)
		}
	}
}

// arrows is a message of n multi-byte runes after pad ASCII bytes, so that
// a byte cut can land inside a rune.
func arrows(pad, n int) string { return strings.Repeat("a", pad) + strings.Repeat("→", n) }

func TestDecideWarningsBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n            int
		wantWarnings int
		wantLast     string
	}{
		{1, 1, ""},
		{20, 20, ""},
		{21, 21, "strata: more warnings not shown (21 in all)"},
		{30, 21, "strata: more warnings not shown (30 in all)"},
		{500, 21, "strata: more warnings not shown (500 in all)"},
	} {
		vs := violations(tc.n, policy.Warn, func(i int) string { return arrows(i%3, 300) })
		d := Decide(policy.Enforce, vs)
		if !d.Allowed || len(d.Warnings) != tc.wantWarnings {
			t.Errorf("Decide(enforce, %d warn violations) = allowed %v, %d warnings; want allowed, %d warnings", tc.n, d.Allowed, len(d.Warnings), tc.wantWarnings)
			continue
		}
		if tc.wantLast != "" && d.Warnings[len(d.Warnings)-1] != tc.wantLast {
			t.Errorf("Decide(enforce, %d warn violations) last warning = %q, want %q", tc.n, d.Warnings[len(d.Warnings)-1], tc.wantLast)
		}
		for i, w := range d.Warnings[:min(len(d.Warnings), maxWarnings)] {
			if len(w) > maxWarningBytes || !utf8.ValidString(w) || !strings.HasSuffix(w, "→...") || !strings.HasPrefix(w, "[p] ") {
				t.Errorf("Decide(enforce, %d warn violations) warning %d = %d bytes, valid UTF-8 %v, %q…%q; want ≤ %d bytes of valid UTF-8 cut after a whole →",
					tc.n, i, len(w), utf8.ValidString(w), w[:min(len(w), 8)], w[max(0, len(w)-8):], maxWarningBytes)
			}
		}
		if len(d.Violations) != tc.n {
			t.Errorf("Decide(enforce, %d warn violations).Violations = %d, want all of them", tc.n, len(d.Violations))
		}
	}
}

// TestDecideCountsOnlyWarnings: the "more warnings" count is of warnings,
// not of every violation.
func TestDecideCountsOnlyWarnings(t *testing.T) {
	t.Parallel()
	vs := append(violations(25, policy.Warn, func(int) string { return "w" }), violations(7, policy.Audit, func(int) string { return "a" })...)
	d := Decide(policy.Enforce, vs)
	if last := d.Warnings[len(d.Warnings)-1]; last != "strata: more warnings not shown (25 in all)" {
		t.Errorf("Decide(enforce, 25 warn + 7 audit) last warning = %q, want the count of 25", last)
	}
}

func TestDecideDenialBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n         int
		wantLines int
		wantLast  string
	}{
		{1, 2, ""},
		{10, 11, ""},
		{11, 12, "... and 1 more"},
		{50, 12, "... and 40 more"},
	} {
		vs := violations(tc.n, policy.Enforce, func(i int) string { return arrows(i%3, 300) })
		d := Decide(policy.Enforce, vs)
		lines := strings.Split(d.Message, "\n")
		header := fmt.Sprintf("strata denied this object: %d violation", tc.n)
		if tc.n > 1 {
			header += "s"
		}
		if d.Allowed || len(lines) != tc.wantLines || lines[0] != header {
			t.Errorf("Decide(enforce, %d enforce violations) = allowed %v, %d lines starting %q; want denied, %d lines starting %q",
				tc.n, d.Allowed, len(lines), lines[0], tc.wantLines, header)
			continue
		}
		if tc.wantLast != "" && lines[len(lines)-1] != tc.wantLast {
			t.Errorf("Decide(enforce, %d enforce violations) last line = %q, want %q", tc.n, lines[len(lines)-1], tc.wantLast)
		}
		for i, l := range lines[1:min(len(lines), 1+maxDenialLines)] {
			if len(l) > maxWarningBytes || !utf8.ValidString(l) {
				t.Errorf("Decide(enforce, %d enforce violations) line %d = %d bytes, valid UTF-8 %v; want ≤ %d bytes of valid UTF-8", tc.n, i+1, len(l), utf8.ValidString(l), maxWarningBytes)
			}
		}
	}
}

func TestDecideAuditBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		vs   []policy.Violation
	}{
		{"one", violations(1, policy.Audit, func(int) string { return "short" })},
		{"200 short", violations(200, policy.Audit, func(i int) string { return arrows(i%3, 30) })},
		{"60 at the warning bound", violations(60, policy.Audit, func(i int) string { return arrows(i%3, 170) })},
	} {
		d := Decide(policy.Audit, tc.vs)
		var recorded []policy.Violation
		if err := json.Unmarshal([]byte(d.Audit), &recorded); err != nil {
			t.Errorf("Decide(audit, %s).Audit is not JSON: %v", tc.name, err)
			continue
		}
		if !d.Allowed || len(d.Warnings) != 0 || len(d.Audit) > maxAuditBytes || len(recorded) == 0 {
			t.Errorf("Decide(audit, %s) = allowed %v, %d warnings, audit of %d bytes with %d violations; want allowed, no warnings, ≤ %d bytes, some violations",
				tc.name, d.Allowed, len(d.Warnings), len(d.Audit), len(recorded), maxAuditBytes)
		}
		for _, v := range recorded {
			if v.Policy != "p" || v.Action != policy.Audit {
				t.Errorf("Decide(audit, %s) records %+v, want the audited violations", tc.name, v)
			}
		}
	}
}

// TestDecideAuditOfOneLongViolation: a registry's error page folded into an
// image-resolution message can exceed the audit budget on its own; the
// record must still say which policy was violated, in at most 8 KiB.
func TestDecideAuditOfOneLongViolation(t *testing.T) {
	t.Parallel()
	vs := []policy.Violation{{Policy: "image-resolution", Action: policy.Audit, Container: "app",
		Msg: `container "app": cannot check image "x": ` + strings.Repeat("<p>error page</p>", 1000)}}
	d := Decide(policy.Audit, vs)
	var recorded []policy.Violation
	if err := json.Unmarshal([]byte(d.Audit), &recorded); err != nil || len(d.Audit) > maxAuditBytes {
		t.Fatalf("Decide(audit, one 17 KB violation).Audit = %d bytes, JSON error %v; want ≤ %d bytes of JSON", len(d.Audit), err, maxAuditBytes)
	}
	if len(recorded) != 1 || recorded[0].Policy != "image-resolution" || recorded[0].Container != "app" {
		t.Errorf("Decide(audit, one 17 KB violation).Audit = %s, want the image-resolution violation of container app, its message shortened", d.Audit)
	}
}

// TestDecideWarningsAreValidHeaders: the API server turns each warning into
// a Warning header and silently drops one that holds a control character
// (k8s.io/apimachinery/pkg/util/net.NewWarningHeader). Registry error
// bodies reach resolution messages with their newlines.
func TestDecideWarningsAreValidHeaders(t *testing.T) {
	t.Parallel()
	msg := "container \"app\": cannot check image \"x\": registry failed (GET /v2/: unexpected status code 502 Bad Gateway: <html>\r\n<head><title>502</title></head>\n\t<body>bad gateway</body>\n</html>\n)"
	for _, mode := range []policy.Action{policy.Enforce, policy.Warn} {
		d := Decide(mode, []policy.Violation{{Policy: "image-resolution", Action: policy.Warn, Msg: msg, Container: "app"}})
		for _, w := range d.Warnings {
			if _, err := utilnet.NewWarningHeader(299, "", w); err != nil {
				t.Errorf("Decide(%s, a message with newlines) warning %q: the API server would drop it: %v", mode, w, err)
			}
		}
	}
	// A denial keeps one violation per line.
	d := Decide(policy.Enforce, []policy.Violation{{Policy: "image-resolution", Action: policy.Enforce, Msg: msg, Container: "app"}})
	if got := strings.Count(d.Message, "\n"); got != 1 {
		t.Errorf("Decide(enforce, one violation with newlines).Message has %d newlines, want 1 (one line per violation):\n%s", got, d.Message)
	}
}

// TestDecideWarningsWithinAPIServerBudget: the API server keeps 4096 runes
// of warnings per request; past that it cuts every warning to 256 runes and
// drops the rest (k8s.io/apiserver/pkg/endpoints/filters/warning.go), so
// the "more warnings not shown" line, last, is the first to go.
func TestDecideWarningsWithinAPIServerBudget(t *testing.T) {
	t.Parallel()
	const budget = 4 << 10
	vs := violations(30, policy.Warn, func(i int) string {
		return fmt.Sprintf("container \"app-%02d\": image \"registry.example.com/team/app:1.%d\" is built on registry.example.com/base/debian:12 at sha256:%064d, but registry.example.com/base/debian:12 now points to sha256:%064d; rebuild on the current base", i, i, i, i+1)
	})
	d := Decide(policy.Warn, vs)
	total := 0
	for _, w := range d.Warnings {
		total += utf8.RuneCountInString(w)
	}
	if total > budget {
		t.Errorf("Decide(warn, 30 long warnings) = %d warnings, %d runes in all; want ≤ %d runes, or the API server cuts them all and drops the last, %q",
			len(d.Warnings), total, budget, d.Warnings[len(d.Warnings)-1])
	}
	if last := d.Warnings[len(d.Warnings)-1]; last != "strata: more warnings not shown (30 in all)" {
		t.Errorf("Decide(warn, 30 long warnings) last warning = %q, want the count of those not shown", last)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg..."},
		{"abcdef→", 8, "abcde..."},
		{"abcd→→", 9, "abcd..."},               // the cut at 6 falls inside the first →
		{"→→→→", 7, "→..."},                    // the cut at 4 falls inside the second →
		{strings.Repeat("é", 10), 9, "ééé..."}, // 2-byte runes
	} {
		got := truncate(tc.in, tc.n)
		if got != tc.want || len(got) > tc.n || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
