package audit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/report"
)

// PreviewSchemaVersion is the version of the preview's JSON; it changes
// only when a field is removed or changes meaning (docs/audit.md).
const PreviewSchemaVersion = 1

// Outcome is what admission would do with a workload in the preview's mode.
type Outcome string

const (
	OutcomeDeny  Outcome = "deny"  // a violation enforces: denied
	OutcomeWarn  Outcome = "warn"  // admitted with a warning
	OutcomeAudit Outcome = "audit" // admitted, the violation recorded
	OutcomeAllow Outcome = "allow" // no violation
	// OutcomeExempt is a workload in an exempt namespace: not evaluated.
	OutcomeExempt Outcome = "exempt"
)

// outcomeOrder lists the outcomes most severe first: the order of the list.
var outcomeOrder = []Outcome{OutcomeDeny, OutcomeWarn, OutcomeAudit, OutcomeAllow, OutcomeExempt}

// Preview is the impact of a mode on what runs: the JSON of `strata audit
// -o json`, and what its text is written from.
type Preview struct {
	SchemaVersion int           `json:"schemaVersion"`
	Mode          policy.Action `json:"mode"`
	Summary       Summary       `json:"summary"`
	// Policies count the workloads each policy has a violation on, most
	// first; a policy whose violations act differently (a resolution
	// failure is decided by the mode) has one entry per action.
	Policies []PolicyImpact `json:"policies"`
	// Bases count the workloads with violations built on each base: stale
	// bases first, then the most workloads first.
	Bases []BaseImpact `json:"bases"`
	// Workloads are every workload listed, the most severe outcome first,
	// then by namespace, kind and name.
	Workloads []WorkloadImpact `json:"workloads"`
}

// Summary counts the workloads by outcome.
type Summary struct {
	Workloads int `json:"workloads"`
	Pods      int `json:"pods"`
	Denied    int `json:"denied"`
	Warned    int `json:"warned"`
	Audited   int `json:"audited"`
	Allowed   int `json:"allowed"`
	Exempt    int `json:"exempt"`
	// Affected are the workloads the mode's own action applies to (denied
	// in enforce, warned in warn, audited in audit), Namespaces the
	// namespaces they are in: the headline.
	Affected   int `json:"affected"`
	Namespaces int `json:"namespaces"`
}

// PolicyImpact is one policy's reach.
type PolicyImpact struct {
	Policy    string        `json:"policy"`
	Action    policy.Action `json:"action"`
	Workloads int           `json:"workloads"`
}

// BaseImpact is one base and the workloads with violations built on it
// (through any image of any container, at any depth of its chain).
type BaseImpact struct {
	// Name is the tag that moved for a stale base, else its first name,
	// else its digest.
	Name          string        `json:"name"`
	Refs          []string      `json:"refs"`
	Digest        images.Digest `json:"digest"`
	Role          string        `json:"role"`
	Stale         bool          `json:"stale"`
	CurrentDigest images.Digest `json:"currentDigest,omitzero"`
	Workloads     int           `json:"workloads"`
	Denied        int           `json:"denied"`
	Warned        int           `json:"warned"`
	Audited       int           `json:"audited"`
}

// WorkloadImpact is one workload, its outcome and the violation that
// decides it.
type WorkloadImpact struct {
	APIVersion string  `json:"apiVersion,omitempty"`
	Kind       string  `json:"kind"`
	Namespace  string  `json:"namespace,omitempty"`
	Name       string  `json:"name"`
	UID        string  `json:"uid,omitempty"`
	Pods       int     `json:"pods"`
	Outcome    Outcome `json:"outcome"`
	// Container and Image are those of First, the first violation with
	// the outcome's action; empty without violations.
	Container  string             `json:"container,omitempty"`
	Image      string             `json:"image,omitempty"`
	First      *policy.Violation  `json:"firstViolation,omitempty"`
	Violations []policy.Violation `json:"violations"`
}

// NewPreview computes the impact of inv's mode on its workloads.
func NewPreview(inv *inventory.Inventory) *Preview {
	p := &Preview{SchemaVersion: PreviewSchemaVersion, Mode: inv.Mode, Policies: []PolicyImpact{}, Bases: []BaseImpact{}}
	affected := outcomeOf(inv.Mode)
	namespaces := map[string]bool{}
	imgs := map[images.Digest]*inventory.Image{}
	for i := range inv.Images {
		imgs[inv.Images[i].Digest] = &inv.Images[i]
	}
	bases := map[images.Digest]*inventory.Base{}
	for i := range inv.Bases {
		bases[inv.Bases[i].Digest] = &inv.Bases[i]
	}
	policies := map[PolicyImpact]int{}
	baseImpacts := map[images.Digest]*BaseImpact{}
	for _, w := range inv.Workloads {
		wi := impactOf(w)
		p.Workloads = append(p.Workloads, wi)
		p.Summary.count(wi)
		if wi.Outcome == affected {
			p.Summary.Affected++
			namespaces[w.Namespace] = true
		}
		if len(wi.Violations) == 0 {
			continue
		}
		seen := map[PolicyImpact]bool{}
		for _, v := range wi.Violations {
			k := PolicyImpact{Policy: v.Policy, Action: v.Action}
			if !seen[k] {
				seen[k] = true
				policies[k]++
			}
		}
		for _, d := range basesOf(w, imgs) {
			bi := baseImpacts[d]
			if bi == nil {
				bi = newBaseImpact(d, bases[d])
				baseImpacts[d] = bi
			}
			bi.add(wi.Outcome)
		}
	}
	p.Summary.Namespaces = len(namespaces)
	for k, n := range policies {
		k.Workloads = n
		p.Policies = append(p.Policies, k)
	}
	slices.SortFunc(p.Policies, func(a, b PolicyImpact) int {
		return cmp.Or(cmp.Compare(b.Workloads, a.Workloads), cmp.Compare(a.Policy, b.Policy), cmp.Compare(a.Action, b.Action))
	})
	for _, bi := range baseImpacts {
		p.Bases = append(p.Bases, *bi)
	}
	slices.SortFunc(p.Bases, func(a, b BaseImpact) int {
		return cmp.Or(compareBool(b.Stale, a.Stale), cmp.Compare(b.Workloads, a.Workloads),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Digest.String(), b.Digest.String()))
	})
	slices.SortStableFunc(p.Workloads, func(a, b WorkloadImpact) int {
		return cmp.Or(cmp.Compare(slices.Index(outcomeOrder, a.Outcome), slices.Index(outcomeOrder, b.Outcome)),
			cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return p
}

// outcomeOf is the outcome a mode's own action gives.
func outcomeOf(mode policy.Action) Outcome {
	switch mode {
	case policy.Warn:
		return OutcomeWarn
	case policy.Audit:
		return OutcomeAudit
	default:
		return OutcomeDeny
	}
}

// impactOf decides a workload's outcome from its violations' effective
// actions, and picks the first violation that acts so.
func impactOf(w inventory.Workload) WorkloadImpact {
	wi := WorkloadImpact{
		APIVersion: w.APIVersion, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, UID: w.UID, Pods: w.Pods,
		Outcome: OutcomeAllow, Violations: slices.Clone(w.Violations),
	}
	if wi.Violations == nil {
		wi.Violations = []policy.Violation{}
	}
	switch {
	case w.Exempt:
		wi.Outcome = OutcomeExempt
		return wi
	case !w.Allowed:
		wi.Outcome = OutcomeDeny
	}
	for _, a := range []policy.Action{policy.Enforce, policy.Warn, policy.Audit} {
		i := slices.IndexFunc(wi.Violations, func(v policy.Violation) bool { return v.Action == a })
		if i < 0 {
			continue
		}
		v := wi.Violations[i]
		wi.First, wi.Container = &v, v.Container
		if wi.Outcome == OutcomeAllow {
			wi.Outcome = outcomeOf(a)
		}
		if c := slices.IndexFunc(w.Containers, func(c inventory.Container) bool { return c.Name == v.Container }); c >= 0 {
			wi.Image = w.Containers[c].Image
		}
		break
	}
	return wi
}

func (s *Summary) count(wi WorkloadImpact) {
	s.Workloads++
	s.Pods += wi.Pods
	switch wi.Outcome {
	case OutcomeDeny:
		s.Denied++
	case OutcomeWarn:
		s.Warned++
	case OutcomeAudit:
		s.Audited++
	case OutcomeExempt:
		s.Exempt++
	default:
		s.Allowed++
	}
}

// basesOf lists the digests of every base any container of w is built on,
// each once.
func basesOf(w inventory.Workload, imgs map[images.Digest]*inventory.Image) []images.Digest {
	var out []images.Digest
	for _, c := range w.Containers {
		img := imgs[c.Digest]
		if c.Digest.IsZero() || img == nil {
			continue
		}
		for _, p := range img.Platforms {
			for _, e := range p.Lineage.Chain {
				if !slices.Contains(out, e.Digest) {
					out = append(out, e.Digest)
				}
			}
		}
	}
	return out
}

func newBaseImpact(d images.Digest, b *inventory.Base) *BaseImpact {
	bi := &BaseImpact{Digest: d, Name: d.String(), Refs: []string{}}
	if b == nil {
		return bi
	}
	bi.Refs, bi.Role = slices.Clone(b.Refs), b.Role
	bi.Stale, bi.CurrentDigest = !b.Current, b.CurrentDigest
	switch {
	case b.MovedTag != "":
		bi.Name = b.MovedTag
	case len(b.Refs) > 0:
		bi.Name = b.Refs[0]
	}
	return bi
}

func (bi *BaseImpact) add(o Outcome) {
	bi.Workloads++
	switch o {
	case OutcomeDeny:
		bi.Denied++
	case OutcomeWarn:
		bi.Warned++
	case OutcomeAudit:
		bi.Audited++
	}
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

// WritePreviewJSON writes the preview as indented JSON (docs/audit.md has
// the schema).
func WritePreviewJSON(w io.Writer, p *Preview) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WritePreviewText writes the impact: the headline, the workloads by
// policy and by base image, then each workload with a violation (the
// violation that decides it) and each exempt workload. Every value read
// from the cluster or a registry is cleaned (report.Clean): a name carrying
// escapes could otherwise redraw the headline.
func WritePreviewText(w io.Writer, p *Preview) error {
	var b strings.Builder
	s := p.Summary
	fmt.Fprintf(&b, "%s: %s in %s would be %s\n", headlineMode(p.Mode), count(s.Affected, "workload"), count(s.Namespaces, "namespace"), outcomeWords(outcomeOf(p.Mode)))
	fmt.Fprintf(&b, "  of %s (%s): %d denied, %d with warnings, %d audited, %d allowed, %d exempt (not evaluated)\n",
		count(s.Workloads, "workload"), count(s.Pods, "pod"), s.Denied, s.Warned, s.Audited, s.Allowed, s.Exempt)
	if len(p.Policies) > 0 {
		b.WriteString("\nby policy:\n")
		for _, pi := range p.Policies {
			fmt.Fprintf(&b, "  %s (%s): %s\n", report.Clean(pi.Policy), pi.Action, count(pi.Workloads, "workload"))
		}
	}
	if len(p.Bases) > 0 {
		b.WriteString("\nby base image (workloads with violations):\n")
		for _, bi := range p.Bases {
			writeBase(&b, bi)
		}
	}
	if s.Denied+s.Warned+s.Audited > 0 {
		b.WriteString("\nworkloads:\n")
	}
	for _, wi := range p.Workloads {
		if wi.First == nil {
			continue
		}
		v := wi.First
		fmt.Fprintf(&b, "  %s %-5s %s  container %s  image %s  [%s] %s", mark(wi.Outcome), wi.Outcome, workloadName(wi),
			report.Clean(wi.Container), report.Clean(wi.Image), report.Clean(v.Policy), report.Clean(v.Msg))
		if v.Platform != "" {
			fmt.Fprintf(&b, " (%s)", report.Clean(v.Platform))
		}
		if more := len(wi.Violations) - 1; more > 0 {
			fmt.Fprintf(&b, " (+%d more)", more)
		}
		b.WriteString("\n")
	}
	if s.Exempt > 0 {
		b.WriteString("\nexempt (not evaluated):\n")
		for _, wi := range p.Workloads {
			if wi.Outcome == OutcomeExempt {
				fmt.Fprintf(&b, "  %s: namespace %s is exempt\n", workloadName(wi), report.Clean(wi.Namespace))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeBase(b *strings.Builder, bi BaseImpact) {
	verb := "are"
	if bi.Workloads == 1 {
		verb = "is"
	}
	fmt.Fprintf(b, "  %d %s built on %s (%s)", bi.Workloads, verb, report.Clean(bi.Name), short(bi.Digest))
	if bi.Stale {
		b.WriteString(", stale")
		if !bi.CurrentDigest.IsZero() {
			fmt.Fprintf(b, ": its tag now points to %s", short(bi.CurrentDigest))
		}
	}
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{bi.Denied, "denied"}, {bi.Warned, "with warnings"}, {bi.Audited, "audited"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	fmt.Fprintf(b, " — %s\n", strings.Join(parts, ", "))
}

// short abbreviates a digest to its first 12 hex digits, as docker does.
func short(d images.Digest) string {
	s := d.String()
	if len(s) > len("sha256:")+12 {
		return s[:len("sha256:")+12] + "…"
	}
	return s
}

func headlineMode(mode policy.Action) string {
	if mode == policy.Enforce {
		return "if enforced"
	}
	return "in " + string(mode) + " mode"
}

func outcomeWords(o Outcome) string {
	switch o {
	case OutcomeWarn:
		return "admitted with warnings"
	case OutcomeAudit:
		return "admitted and audited"
	default:
		return "denied"
	}
}

func mark(o Outcome) string {
	switch o {
	case OutcomeDeny:
		return "✗"
	case OutcomeWarn, OutcomeAudit:
		return "!"
	default:
		return "✓"
	}
}

// workloadName is namespace/kind/name, cleaned.
func workloadName(wi WorkloadImpact) string {
	return report.Clean(wi.Namespace) + "/" + report.Clean(wi.Kind) + "/" + report.Clean(wi.Name)
}

// count is "1 workload", "2 workloads".
func count(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
