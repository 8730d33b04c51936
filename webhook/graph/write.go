package graph

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes g as indented JSON (docs/graph.md has the schema).
func WriteJSON(w io.Writer, g *Graph) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(g)
}

// WriteUsesJSON writes a rebuild list as a JSON array.
func WriteUsesJSON(w io.Writer, uses []Use) error {
	if uses == nil {
		uses = []Use{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(uses)
}

// WriteUsesText writes the rebuild list of ref as a table, outdated digests
// first, then one line per application to rebuild: an image built on an
// outdated digest, the digest its base's tag points to now, and who runs it.
func WriteUsesText(w io.Writer, ref string, uses []Use) error {
	ew := &errWriter{w: w}
	if len(uses) == 0 {
		ew.printf("nothing here is built on %s\n", ref)
		return ew.err
	}
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BASE\tBASE DIGEST\tCURRENT\tIMAGE\tWORKLOADS")
	for _, u := range uses {
		current := "yes"
		if !u.Current {
			current = "no"
			if u.CurrentDigest != "" {
				current = "no, now " + short(u.CurrentDigest)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printable(u.Base), short(u.BaseDigest), current, printable(u.Image), printable(workloadList(u.Workloads)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	ew.printf("\n")
	var rebuild []string
	for _, u := range uses {
		if u.Current || slices.Contains(rebuild, u.ImageDigest) {
			continue
		}
		rebuild = append(rebuild, u.ImageDigest)
		now := "its tag has moved"
		if u.CurrentDigest != "" {
			now = "its tag now points to " + u.CurrentDigest
		}
		ew.printf("rebuild %s (%s): built on %s at %s, %s; run by %s\n",
			printable(u.Image), u.ImageDigest, printable(u.Base), u.BaseDigest, now, printable(workloadList(u.Workloads)))
	}
	if len(rebuild) == 0 {
		ew.printf("nothing to rebuild: everything built on %s is on its current digest\n", printable(ref))
	}
	return ew.err
}

func workloadList(ws []string) string {
	if len(ws) == 0 {
		return "(no workload)"
	}
	return strings.Join(ws, ", ")
}

// printable replaces control characters with spaces: names come from the
// cluster and registries, and a terminal must not take them as commands
// nor a table as its own line breaks.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}
