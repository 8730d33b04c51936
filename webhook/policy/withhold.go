package policy

import (
	"regexp"
	"strings"
)

// buildArgs finds where a history step lists the build arguments its RUN
// saw, as builders record them: "|N " (after "RUN " for BuildKit) and then
// name=value pairs, up to the shell.
var buildArgs = regexp.MustCompile(`\|[0-9]+ `)

// shells are what a RUN step's command starts with after its build
// arguments (run_step in policies/layer_efficiency.rego).
var shells = []string{" /bin/sh -c", " /bin/bash -c", " cmd /S /C", " powershell"}

// withheldArgs replaces the build arguments of a quoted step.
const withheldArgs = "(build arguments withheld)"

// withholdBuildArgs returns msg with the build arguments of every history
// step it quotes withheld. Build arguments are how tokens reach images, and
// a violation's message travels further than the image (warnings, the
// decision log, the API server's audit log, reports, CI output): a
// policy may quote a step, never the values it was built with. Everything
// up to the last shell after "|N " is withheld, so a value that holds a
// shell's name, or a quote cut short before the shell, hides nothing it
// should not show.
func withholdBuildArgs(msg string) string {
	if !strings.Contains(msg, "|") {
		return msg
	}
	var b strings.Builder
	for {
		loc := buildArgs.FindStringIndex(msg)
		if loc == nil {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:loc[1]])
		rest := msg[loc[1]:]
		end := -1
		for _, sh := range shells {
			if i := strings.LastIndex(rest, sh); i > end {
				end = i
			}
		}
		b.WriteString(withheldArgs)
		if end < 0 {
			// No shell follows: the quote ends within the arguments, or is
			// no step at all; what follows "|N " is withheld to the end of
			// the quote, at the closing parenthesis or quote mark if any.
			stop := strings.IndexAny(rest, `)"'`)
			if stop < 0 {
				return b.String()
			}
			msg = rest[stop:]
			continue
		}
		msg = rest[end:]
	}
}
