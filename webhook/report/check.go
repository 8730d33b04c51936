package report

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/strata-project/strata/webhook/policy"
)

// Check is what `strata check` found in a set of manifests: one entry per
// pod-bearing object, in the order the manifests were read.
type Check struct {
	Mode    policy.Action   `json:"mode"`
	Objects []CheckedObject `json:"objects"`
	// Read counts the objects read from the manifests, those without a pod
	// included and lists flattened, so that a manifest whose objects were
	// not understood does not pass as one that holds none.
	Read int `json:"-"`
	// Policies describe the loaded policies; SARIF names its rules from them.
	Policies []policy.Meta `json:"-"`
}

// Decision is the outcome for one object, as the webhook would answer.
type Decision string

// The decisions, strongest last.
const (
	Allow Decision = "allow"
	Warn  Decision = "warn" // allowed, with warnings
	Deny  Decision = "deny"
)

// DecisionOf names the outcome of an admission decision whose violations
// already carry their effective action.
func DecisionOf(allowed bool, violations []policy.Violation) Decision {
	if !allowed {
		return Deny
	}
	for _, v := range violations {
		if v.Action == policy.Warn {
			return Warn
		}
	}
	return Allow
}

// CheckedObject is one pod-bearing object and what was decided for it.
type CheckedObject struct {
	// File is the path as given (or walked to); "stdin" for standard input.
	File string `json:"file"`
	// Line is where the object's document starts in the file.
	Line int `json:"line"`
	// Document counts the file's non-empty documents from 1.
	Document int `json:"document"`
	// Item counts from 1 the items of a List; 0 for an object of its own.
	Item      int      `json:"item,omitempty"`
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Decision  Decision `json:"decision"`
	// Exempt is set for an object in an exempt namespace: never evaluated.
	Exempt bool `json:"exempt,omitempty"`
	// Violations carry their effective action.
	Violations []policy.Violation `json:"violations"`
}

// Summary counts the objects by decision.
type Summary struct {
	// Read counts every object read; Objects those that carry a pod.
	Read    int `json:"read"`
	Objects int `json:"objects"`
	Allowed int `json:"allowed"`
	Warned  int `json:"warned"`
	Denied  int `json:"denied"`
}

// Summary counts the objects by decision.
func (c *Check) Summary() Summary {
	s := Summary{Read: c.Read, Objects: len(c.Objects)}
	for _, o := range c.Objects {
		switch o.Decision {
		case Deny:
			s.Denied++
		case Warn:
			s.Warned++
		default:
			s.Allowed++
		}
	}
	return s
}

// WriteCheckText writes one header line per object, its violations
// indented below it, and a summary line.
func WriteCheckText(w io.Writer, c *Check) error {
	var b strings.Builder
	for _, o := range c.Objects {
		// Every value read from a manifest or a registry is cleaned: a
		// name carrying escapes or line breaks could otherwise draw a
		// fake "✓ allow" line or summary over the real ones.
		fmt.Fprintf(&b, "%s %s %s %s (%s)", mark(o.Decision), o.Decision, Clean(o.Kind), Clean(objectName(o)), Clean(where(o)))
		if o.Exempt {
			fmt.Fprintf(&b, ": namespace %s is exempt", Clean(o.Namespace))
		}
		b.WriteString("\n")
		for _, v := range o.Violations {
			fmt.Fprintf(&b, "  %-8s [%s] %s", Clean(string(v.Action)), Clean(v.Policy), Clean(v.Msg))
			if v.Platform != "" {
				fmt.Fprintf(&b, " (%s)", Clean(v.Platform))
			}
			b.WriteString("\n")
		}
	}
	s := c.Summary()
	fmt.Fprintf(&b, "%d object%s: %d allowed, %d with warnings, %d denied", s.Objects, plural(s.Objects), s.Allowed, s.Warned, s.Denied)
	if s.Read > s.Objects {
		fmt.Fprintf(&b, " (%d objects read; the others carry no pod)", s.Read)
	}
	b.WriteString("\n")
	// A policy that can report nothing is said to be so, so that its
	// silence is not read as a pass.
	for _, p := range c.Policies {
		if p.Inactive != "" {
			fmt.Fprintf(&b, "policy %s is inactive: %s\n", Clean(p.ID), Clean(p.Inactive))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mark(d Decision) string {
	switch d {
	case Deny:
		return "✗"
	case Warn:
		return "!"
	default:
		return "✓"
	}
}

func objectName(o CheckedObject) string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// where names the file, and the document or item only when the file holds
// more than one object.
func where(o CheckedObject) string {
	s := o.File
	if o.Document > 1 {
		s += fmt.Sprintf(", document %d", o.Document)
	}
	if o.Item > 0 {
		s += fmt.Sprintf(", item %d", o.Item)
	}
	return s
}

// WriteCheckJSON writes the report, with its summary, as indented JSON.
func WriteCheckJSON(w io.Writer, c *Check) error {
	objects := make([]CheckedObject, len(c.Objects))
	for i, o := range c.Objects {
		if o.Violations == nil {
			o.Violations = []policy.Violation{}
		}
		objects[i] = o
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Mode    policy.Action   `json:"mode"`
		Objects []CheckedObject `json:"objects"`
		Summary Summary         `json:"summary"`
	}{c.Mode, objects, c.Summary()})
}

// SARIF 2.1.0, the subset GitHub code scanning reads: one run, a rule per
// policy that has results, a result per violation located at the start of
// its object's document.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	strataURI    = "https://github.com/strata-project/strata"
)

type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string        `json:"id"`
	ShortDescription sarifMessage  `json:"shortDescription"`
	FullDescription  *sarifMessage `json:"fullDescription,omitempty"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           sarifRegion           `json:"region"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// WriteCheckSARIF writes the report as a SARIF 2.1.0 log.
func WriteCheckSARIF(w io.Writer, c *Check) error {
	var ids []string
	for _, o := range c.Objects {
		for _, v := range o.Violations {
			if !slices.Contains(ids, v.Policy) {
				ids = append(ids, v.Policy)
			}
		}
	}
	slices.Sort(ids)
	rules := make([]sarifRule, len(ids))
	for i, id := range ids {
		rules[i] = c.rule(id)
	}
	results := []sarifResult{}
	for _, o := range c.Objects {
		loc := sarifLocation{PhysicalLocation: sarifPhysicalLocation{
			ArtifactLocation: sarifArtifactLocation{URI: artifactURI(o.File)},
			Region:           sarifRegion{StartLine: max(o.Line, 1)},
		}}
		for _, v := range o.Violations {
			msg := fmt.Sprintf("%s %s: %s", o.Kind, objectName(o), v.Msg)
			if v.Platform != "" {
				msg += " (" + v.Platform + ")"
			}
			results = append(results, sarifResult{
				RuleID:    v.Policy,
				RuleIndex: slices.Index(ids, v.Policy),
				Level:     sarifLevel(v.Action),
				Message:   sarifMessage{Text: plainSARIF(msg)},
				Locations: []sarifLocation{loc},
			})
		}
	}
	log := sarifLog{
		Version: sarifVersion,
		Schema:  sarifSchema,
		Runs: []sarifRun{{
			Tool:    sarifTool{Driver: sarifDriver{Name: "strata", InformationURI: strataURI, Rules: rules}},
			Results: results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// rule describes a policy from its metadata; a violation of a policy
// without metadata (policy-error) still gets a rule, named by its id.
func (c *Check) rule(id string) sarifRule {
	r := sarifRule{ID: id, ShortDescription: sarifMessage{Text: plainSARIF(id)}}
	for _, m := range c.Policies {
		if m.ID != id {
			continue
		}
		if m.Title != "" {
			r.ShortDescription.Text = plainSARIF(m.Title)
		}
		if m.Description != "" {
			r.FullDescription = &sarifMessage{Text: plainSARIF(m.Description)}
		}
	}
	if id == policy.PolicyError && r.ShortDescription.Text == id {
		r.ShortDescription.Text = "The policies can be evaluated"
	}
	return r
}

func sarifLevel(a policy.Action) string {
	switch a {
	case policy.Enforce:
		return "error"
	case policy.Warn:
		return "warning"
	default:
		return "note"
	}
}

// artifactURI keeps a relative path relative (code scanning resolves it
// against the repository) and makes an absolute one a file URI.
func artifactURI(path string) string {
	p := filepath.ToSlash(path)
	if !filepath.IsAbs(path) {
		return (&url.URL{Path: p}).String()
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive path
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}
