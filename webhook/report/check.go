package report

import (
	"crypto/sha256"
	"encoding/hex"
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
	// Errors are the files that could not be decoded: the others were
	// checked all the same.
	Errors []FileError `json:"errors"`
	// Version is strata's, for SARIF's tool.driver.version.
	Version string `json:"-"`
}

// FileError is a manifest file that could not be decoded.
type FileError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// CheckedContainer is one checked container's image and the digest it
// resolved to ("" when it did not).
type CheckedContainer struct {
	Name   string `json:"name"`
	Image  string `json:"image"`
	Digest string `json:"digest,omitempty"`
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
	// Source is, for standard input, the helm template the object was
	// rendered from.
	Source string `json:"source,omitempty"`
	// Containers are the checked containers: their images and digests.
	Containers []CheckedContainer `json:"containers"`
	// ImageLines maps a container's name to the line of its image in File:
	// where SARIF places a finding about that container.
	ImageLines map[string]int `json:"-"`
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
	for _, e := range c.Errors {
		fmt.Fprintf(&b, "✗ error %s\n", Clean(e.Error))
	}
	s := c.Summary()
	fmt.Fprintf(&b, "%d object%s: %d allowed, %d with warnings, %d denied", s.Objects, plural(s.Objects), s.Allowed, s.Warned, s.Denied)
	if s.Read > s.Objects {
		fmt.Fprintf(&b, " (%d objects read; the others carry no pod)", s.Read)
	}
	if len(c.Errors) > 0 {
		fmt.Fprintf(&b, "; %d file%s could not be read", len(c.Errors), plural(len(c.Errors)))
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
		if o.Containers == nil {
			o.Containers = []CheckedContainer{}
		}
		objects[i] = o
	}
	errs := c.Errors
	if errs == nil {
		errs = []FileError{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Mode    policy.Action   `json:"mode"`
		Objects []CheckedObject `json:"objects"`
		Errors  []FileError     `json:"errors"`
		Summary Summary         `json:"summary"`
	}{c.Mode, objects, errs, c.Summary()})
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
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
}

// sarifInvocation says whether the run read every file; the files it could
// not decode are its notifications.
type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	ShortDescription sarifMessage   `json:"shortDescription"`
	FullDescription  *sarifMessage  `json:"fullDescription,omitempty"`
	HelpURI          string         `json:"helpUri,omitempty"`
	Properties       sarifRuleProps `json:"properties"`
}

// sarifRuleProps carry what GitHub code scanning ranks alerts by.
type sarifRuleProps struct {
	// SecuritySeverity is a CVSS-like score as a string, 0.0 to 10.0.
	SecuritySeverity string   `json:"security-severity"`
	Tags             []string `json:"tags"`
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
	// PartialFingerprints identify a finding across commits that move its
	// lines: by policy, object, container, platform and message.
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	// Region is nil for a helm template found through its "# Source:"
	// comment: the line in the rendered stream is not a line of the file.
	Region *sarifRegion `json:"region,omitempty"`
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
		for _, v := range o.Violations {
			msg := fmt.Sprintf("%s %s: %s", o.Kind, objectName(o), v.Msg)
			if v.Platform != "" {
				msg += " (" + v.Platform + ")"
			}
			results = append(results, sarifResult{
				RuleID:              v.Policy,
				RuleIndex:           slices.Index(ids, v.Policy),
				Level:               sarifLevel(v.Action),
				Message:             sarifMessage{Text: plainSARIF(msg)},
				Locations:           []sarifLocation{objectLocation(o, v.Container)},
				PartialFingerprints: map[string]string{"strataFinding/v1": fingerprint(v.Policy, o.Kind, o.Namespace, o.Name, v.Container, v.Platform, v.Msg)},
			})
		}
	}
	inv := sarifInvocation{ExecutionSuccessful: len(c.Errors) == 0}
	for _, e := range c.Errors {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level:     "error",
			Message:   sarifMessage{Text: plainSARIF(e.Error)},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: artifactURI(e.File)}}}},
		})
	}
	log := sarifLog{
		Version: sarifVersion,
		Schema:  sarifSchema,
		Runs: []sarifRun{{
			Tool:        sarifTool{Driver: sarifDriver{Name: "strata", Version: c.Version, InformationURI: strataURI, Rules: rules}},
			Invocations: []sarifInvocation{inv},
			Results:     results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// objectLocation is where a finding about container of o is shown: the
// line of its image when known, else the start of o's document; a helm
// template (from "# Source:") has no line of its own.
func objectLocation(o CheckedObject, container string) sarifLocation {
	if o.Source != "" {
		return sarifLocation{PhysicalLocation: sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: artifactURI(o.Source)}}}
	}
	line := max(o.Line, 1)
	if l, ok := o.ImageLines[container]; ok {
		line = l
	}
	return sarifLocation{PhysicalLocation: sarifPhysicalLocation{
		ArtifactLocation: sarifArtifactLocation{URI: artifactURI(o.File)},
		Region:           &sarifRegion{StartLine: line},
	}}
}

// fingerprint is a stable hash of what identifies a finding.
func fingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

// securitySeverity ranks the built-in policies for code scanning (GitHub
// reads 9.0+ as critical, 7.0+ high, 4.0+ medium, below low): root is high,
// an unapproved or unknown base and an image that could not be checked are
// medium, a stale base medium-low, depth low; build tooling shipped in the
// runtime image (more to exploit) low, size and layering (hygiene) lowest.
// A user's policy is ranked by its action.
var securitySeverity = map[string]string{
	"run-as-root":        "7.5",
	"approved-base":      "6.0",
	"image-resolution":   "5.0",
	"invalid-object":     "5.0",
	policy.PolicyError:   "5.0",
	"base-freshness":     "4.5",
	"lineage-depth":      "3.0",
	"single-stage-build": "3.0",
	"image-size":         "2.0",
	"layer-efficiency":   "2.0",
}

// builtinDocs is where a built-in policy's Rego, with its description, is
// published.
const builtinDocs = strataURI + "/blob/main/policies/"

// rule describes a policy from its metadata; a violation of a policy
// without metadata (policy-error) still gets a rule, named by its id.
func (c *Check) rule(id string) sarifRule {
	r := sarifRule{ID: id, ShortDescription: sarifMessage{Text: plainSARIF(id)}, Properties: sarifRuleProps{SecuritySeverity: "5.0", Tags: []string{"security", "container-image"}}}
	if sev, ok := securitySeverity[id]; ok {
		r.Properties.SecuritySeverity = sev
	}
	for _, m := range c.Policies {
		if m.ID != id {
			continue
		}
		if file, ok := strings.CutPrefix(m.Source, "builtin/"); ok {
			r.HelpURI = builtinDocs + file
		} else if _, known := securitySeverity[id]; !known {
			r.Properties.SecuritySeverity = map[policy.Action]string{policy.Enforce: "7.0", policy.Warn: "4.0"}[m.Action]
			if r.Properties.SecuritySeverity == "" {
				r.Properties.SecuritySeverity = "2.0"
			}
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
