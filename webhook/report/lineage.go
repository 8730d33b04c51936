package report

import (
	"fmt"
	"io"
	"slices"
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
		steps = append(steps, step(self, e, prev))
		prev = e.Layers
	}
	role := "app"
	if l.Self != nil {
		role = l.Self.Role
	}
	steps = append(steps, step(self, lineage.Entry{Refs: []string{self.String()}, Role: role, Layers: f.Layers, Current: true}, prev))
	completeness := "complete"
	if !l.Complete {
		completeness = "incomplete: the root is not a known OS base"
	}
	fmt.Fprintf(w, "    lineage\t%s\n", strings.Join(steps, " → "))
	fmt.Fprintf(w, "    depth\t%d (%s)\n", l.Depth, completeness)
	for _, e := range l.Chain {
		if !e.Current {
			fmt.Fprintf(w, "    stale base\t%s now points to %s: rebuild on it\n", tagName(self, e), e.CurrentDigest)
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
		label := "base claim"
		if c.Source == lineage.SourceProvenance {
			label = "provenance"
		}
		fmt.Fprintf(w, "    %s\t%s\n", label, line)
	}
}

// step renders "temurin:21 (runtime, +3)"; the root shows its own count. A
// base known only by a claim is shown by its digest, the name it claims
// marked as claimed: strata never saw that name point to it.
func step(self images.Reference, e lineage.Entry, prev int) string {
	name := "?"
	switch {
	case len(e.Refs) > 0:
		name = shortName(self, e.Refs[0])
	case !e.Digest.IsZero():
		name = e.Digest.String()
	}
	role := e.Role
	if role == "" {
		role = "unknown role"
	}
	count := fmt.Sprintf("+%d", e.Layers-prev)
	if prev == 0 {
		count = fmt.Sprintf("%d layer%s", e.Layers, plural(e.Layers))
	}
	var marks []string
	if !e.Current {
		marks = append(marks, "STALE")
	}
	switch {
	case hasOnly(e.Evidence, lineage.EvidenceAnnotation):
		marks = append(marks, "by verified claim")
	case hasOnly(e.Evidence, lineage.EvidenceProvenance):
		marks = append(marks, "by verified provenance")
	case len(e.Evidence) > 1 && !slices.Contains(e.Evidence, lineage.EvidenceLayers):
		marks = append(marks, "by verified claim and provenance")
	}
	if e.ClaimedName != "" {
		marks = append(marks, "claimed as "+shortName(self, e.ClaimedName))
	}
	suffix := ""
	if len(marks) > 0 {
		suffix = ", " + strings.Join(marks, ", ")
	}
	return fmt.Sprintf("%s (%s, %s%s)", name, role, count, suffix)
}

// tagName is the tag that moved away from a stale base: a catalog name, or
// the claimed one, marked as such.
func tagName(self images.Reference, e lineage.Entry) string {
	switch {
	case e.MovedTag != "" && e.MovedTag == e.ClaimedName:
		return shortName(self, e.MovedTag) + " (claimed)"
	case e.MovedTag != "":
		return shortName(self, e.MovedTag)
	case len(e.Refs) > 0:
		return shortName(self, e.Refs[0])
	case e.ClaimedName != "":
		return shortName(self, e.ClaimedName) + " (claimed)"
	}
	return e.Digest.String()
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
