package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
)

// writeLineage writes the chain as one line, root first, then what a
// reader must not miss: stale bases and claims that did not hold.
func writeLineage(w io.Writer, self images.Reference, l lineage.Lineage, f *images.Facts) {
	var steps []string
	prev := 0
	for _, e := range l.Chain {
		steps = append(steps, step(self, e.Refs, e.Role, e.Layers, prev, !e.Current, hasOnly(e.Evidence, lineage.EvidenceAnnotation)))
		prev = e.Layers
	}
	role := "app"
	if l.Self != nil {
		role = l.Self.Role
	}
	steps = append(steps, step(self, []string{self.String()}, role, f.Layers, prev, false, false))
	completeness := "complete"
	if !l.Complete {
		completeness = "incomplete: the root is not a known OS base"
	}
	fmt.Fprintf(w, "    lineage\t%s\n", strings.Join(steps, " → "))
	fmt.Fprintf(w, "    depth\t%d (%s)\n", l.Depth, completeness)
	for _, e := range l.Chain {
		if !e.Current {
			fmt.Fprintf(w, "    stale base\t%s now points to %s: rebuild on it\n", shortName(self, e.Refs[0]), e.CurrentDigest)
		}
	}
	for _, c := range l.Claims {
		claim := c.Name
		if c.Digest != "" {
			claim += "@" + c.Digest
		}
		line := fmt.Sprintf("%s %s", c.Status, shortName(self, claim))
		if c.Reason != "" {
			line += ": " + c.Reason
		}
		fmt.Fprintf(w, "    base claim\t%s\n", line)
	}
}

// step renders "temurin:21 (runtime, +3)"; the root shows its own count.
func step(self images.Reference, refs []string, role string, layers, prev int, stale, claimOnly bool) string {
	name := "?"
	if len(refs) > 0 {
		name = shortName(self, refs[0])
	}
	if role == "" {
		role = "unknown role"
	}
	count := fmt.Sprintf("+%d", layers-prev)
	if prev == 0 {
		count = fmt.Sprintf("%d layer%s", layers, plural(layers))
	}
	var marks []string
	if stale {
		marks = append(marks, "STALE")
	}
	if claimOnly {
		marks = append(marks, "by verified claim")
	}
	suffix := ""
	if len(marks) > 0 {
		suffix = ", " + strings.Join(marks, ", ")
	}
	return fmt.Sprintf("%s (%s, %s%s)", name, role, count, suffix)
}

// shortName drops what the reader already knows: the registry of the image
// being inspected, and Docker Hub's library/ prefix.
func shortName(self images.Reference, ref string) string {
	ref = strings.TrimPrefix(ref, self.Registry+"/")
	return strings.TrimPrefix(ref, "library/")
}

func hasOnly(list []string, item string) bool { return len(list) == 1 && list[0] == item }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
