// Package report renders strata's findings for people and machines.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
)

// Inspection is what strata knows of one image: its facts and, per
// platform, its lineage.
type Inspection struct {
	Written   string               `json:"written"`
	Ref       string               `json:"ref"`
	Digest    images.Digest        `json:"digest"`
	MediaType string               `json:"mediaType"`
	Stale     bool                 `json:"stale,omitempty"`
	Platforms []PlatformInspection `json:"platforms"`
}

// PlatformInspection pairs one platform's facts with its lineage, as the
// policies see them.
type PlatformInspection struct {
	Image   *images.Facts   `json:"image"`
	Lineage lineage.Lineage `json:"lineage"`
}

// NewInspection pairs img's platforms with their lineage.
func NewInspection(img *images.Image, lineageOf func(*images.Facts) lineage.Lineage) *Inspection {
	ins := &Inspection{Written: img.Written, Ref: img.Ref, Digest: img.Digest, MediaType: img.MediaType, Stale: img.Stale}
	for _, f := range img.Platforms {
		ins.Platforms = append(ins.Platforms, PlatformInspection{Image: f, Lineage: lineageOf(f)})
	}
	return ins
}

// WriteInspectionJSON writes the inspection as indented JSON.
func WriteInspectionJSON(w io.Writer, ins *Inspection) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ins)
}

// WriteInspectionText writes the inspection for a person reading a terminal.
func WriteInspectionText(w io.Writer, ins *Inspection) error {
	ref, err := images.ParseReference(ins.Ref)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	img := ins
	fmt.Fprintf(tw, "%s\n", img.Ref)
	fmt.Fprintf(tw, "  digest\t%s\n", img.Digest)
	fmt.Fprintf(tw, "  media type\t%s\n", img.MediaType)
	if img.Stale {
		fmt.Fprintf(tw, "  note\tthe registry did not answer; this is the last known resolution\n")
	}
	for _, p := range img.Platforms {
		f := p.Image
		fmt.Fprintf(tw, "  %s\t%s\n", f.Platform, f.Digest)
		writeLineage(tw, ref, p.Lineage, f)
		fmt.Fprintf(tw, "    user\t%s\n", describeUser(f.Config.User))
		fmt.Fprintf(tw, "    layers\t%d (%s compressed)\n", f.Layers, humanBytes(f.Size))
		if !f.Config.Created.IsZero() {
			fmt.Fprintf(tw, "    created\t%s\n", f.Config.Created.UTC().Format("2006-01-02 15:04:05 MST"))
		}
		if len(f.Config.Entrypoint) > 0 {
			fmt.Fprintf(tw, "    entrypoint\t%s\n", quoteAll(f.Config.Entrypoint))
		}
		if len(f.Config.Cmd) > 0 {
			fmt.Fprintf(tw, "    cmd\t%s\n", quoteAll(f.Config.Cmd))
		}
		fmt.Fprintf(tw, "    history\t%d steps, %d with a layer\n", len(f.History), len(f.History)-emptySteps(f.History))
		writeMap(tw, "annotation", f.Annotations.Map())
		writeMap(tw, "label", f.Config.Labels.Map())
	}
	return tw.Flush()
}

func describeUser(u images.User) string {
	switch {
	case u.Invalid != "":
		return fmt.Sprintf("%q: invalid, %s", u.Raw, u.Invalid)
	case u.IsRoot():
		return fmt.Sprintf("%q: uid 0 (root)", u.Raw)
	case u.UID != nil:
		return fmt.Sprintf("%q: uid %d", u.Raw, *u.UID)
	default:
		return fmt.Sprintf("%q: user name, uid unknown without the image's /etc/passwd", u.Raw)
	}
}

// writeMap writes an image's labels or annotations, cleaned: their author
// is whoever pushed the image, and a value with escapes or line breaks
// would otherwise draw lines of its own.
func writeMap(w io.Writer, label string, m map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, "    %s\t%s=%s\n", label, Clean(k), Clean(m[k]))
	}
}

func emptySteps(h []images.History) int {
	n := 0
	for _, s := range h {
		if s.EmptyLayer {
			n++
		}
	}
	return n
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
