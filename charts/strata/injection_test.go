package strata_test

// A chart value is data, never YAML: whoever writes a values file (a pull
// request to a GitOps repository, an overlay) must not be able to give the
// webhook's pod hostNetwork, a command or another object by putting a newline,
// a flow mapping or a document separator into a string value. Each attempt is
// either refused by values.schema.json or rendered as an inert string.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	appsv1 "k8s.io/api/apps/v1"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// valuesAt nests v under the dotted path ("image.tag" → {image: {tag: v}}).
func valuesAt(path string, v any) map[string]any {
	keys := strings.Split(path, ".")
	out := map[string]any{keys[len(keys)-1]: v}
	for i := len(keys) - 2; i >= 0; i-- {
		out = map[string]any{keys[i]: out}
	}
	return out
}

// valuesFile writes values as a values file (a file, not --set, so that
// newlines and quotes reach helm as they would from a repository), in JSON:
// its escapes carry every character exactly, where a YAML emitter may let
// the parser fold U+0085 into a space before the chart sees it.
func valuesFile(t *testing.T, values ...map[string]any) string {
	t.Helper()
	var args []string
	for i, v := range values {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		raw = asciiJSON(raw)
		path := filepath.Join(t.TempDir(), "values-"+string(rune('a'+i))+".json")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-f", path)
	}
	return strings.Join(args, "\x00")
}

// asciiJSON escapes every non-ASCII character of a JSON text (they occur
// only inside strings): a YAML parser reads a raw U+0085 as a line break.
func asciiJSON(raw []byte) []byte {
	var out strings.Builder
	for _, r := range string(raw) {
		if r < 0x80 {
			out.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, "\\u%04x", u)
		}
	}
	return []byte(out.String())
}

// manifests splits helm's output the way kubectl apply does (a line starting
// with "---" ends a document) and decodes every document, whatever its kind.
func manifests(t *testing.T, out string) []any {
	t.Helper()
	reader := kyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	var docs []any
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("reading rendered manifests: %v\n%s", err, out)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var obj any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("rendered document is not YAML (a value broke the template): %v\n%s", err, doc)
		}
		if obj != nil {
			docs = append(docs, obj)
		}
	}
}

// injectedKeys lists every map key in obj that no strata manifest has and an
// injection would add: the chart never renders hostNetwork, a command, a
// hostPath or a privileged flag.
func injectedKeys(obj any, path string) []string {
	var found []string
	switch o := obj.(type) {
	case map[string]any:
		for k, v := range o {
			if slices.Contains([]string{"hostNetwork", "hostPID", "command", "hostPath", "privileged", "injected"}, k) {
				found = append(found, path+"."+k)
			}
			found = append(found, injectedKeys(v, path+"."+k)...)
		}
	case []any:
		for _, v := range o {
			found = append(found, injectedKeys(v, path+"[]")...)
		}
	}
	return found
}

// injections are the payloads: each would, rendered unquoted, add a key to
// the pod spec (indent 6), to the container (indent 10), a whole object
// (a document separator), or turn the value into a mapping (flow syntax), or
// close a double-quoted string early.
var injections = map[string]string{
	"newline hostNetwork":      "x\n      hostNetwork: true",
	"newline command":          "x\n          command: [\"/bin/sh\", \"-c\", \"id\"]",
	"newline under list item":  "x\n        - name: y\n      hostNetwork: true",
	"newline args":             "x\n            - --addr=:1\n          command: [sh]",
	"carriage return":          "x\r      hostNetwork: true",
	"unicode line separator":   "x\u2028      hostNetwork: true",
	"carriage return column 0": "x\rhostNetwork: true",
	"next line column 0":       "x\u0085hostNetwork: true",
	"more-indented first line": "      x\n    hostNetwork: true",
	"document separator":       "x\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: true, containers: [{name: c, image: busybox, command: [sh]}]}",
	"flow mapping":             "{hostNetwork: true, injected: true}",
	"closing quote":            "x\", \"injected\": \"true",
}

// stringValue is one string value the chart renders somewhere, with the
// values that make the chart render it.
type stringValue struct {
	path   string
	wrap   func(payload string) any // nil: the payload itself
	enable map[string]any
	// rendered finds the value in the rendered objects, for the values the
	// schema cannot refuse: it must come out exactly as it went in.
	rendered func(docs []any) (string, bool)
}

func chartStringValues(t *testing.T) []stringValue {
	ca, err := os.ReadFile("testdata/client-ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	list := func(p string) any { return []any{p} }
	secretMode := map[string]any{"certificates": map[string]any{"mode": "secret", "secret": map[string]any{
		"name": "my-tls", "caBundle": base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")),
	}}}
	clientAuth := valuesAt("webhook.clientAuth", map[string]any{"enabled": true, "caBundle": string(ca)})
	audit := valuesAt("audit.enabled", true)
	return []stringValue{
		{path: "priorityClassName"},
		{path: "image.repository"},
		{path: "image.tag"},
		{path: "image.digest"},
		{path: "image.pullPolicy"},
		{path: "imagePullSecrets", wrap: list},
		{path: "imagePullSecrets", wrap: func(p string) any { return []any{map[string]any{"name": p}} }},
		{path: "certificates.secret.name", enable: secretMode},
		{path: "certificates.secret.caBundle", enable: secretMode},
		{path: "webhook.clientAuth.cn", enable: clientAuth, rendered: func(docs []any) (string, bool) {
			for _, arg := range dig(docs, "Deployment", "spec", "template", "spec", "containers", 0, "args").([]any) {
				if cn, ok := strings.CutPrefix(arg.(string), "--client-cn="); ok {
					return cn, true
				}
			}
			return "", false
		}},
		{path: "webhook.clientAuth.configMap", enable: valuesAt("webhook.clientAuth", map[string]any{"enabled": true, "configMap": "ca"})},
		{path: "webhook.clientAuth.caBundle", enable: clientAuth, wrap: func(p string) any {
			return "-----BEGIN CERTIFICATE-----\n" + p + "\n-----END CERTIFICATE-----\n"
		}},
		// Policy files hold newlines by nature: the schema cannot refuse them, the template must keep them inert.
		{path: "policies.custom", wrap: func(p string) any { return map[string]any{"mine.rego": p} }, enable: valuesAt("policies.custom", map[string]any{"mine.rego": "package strata.policies.mine"}),
			rendered: func(docs []any) (string, bool) {
				content, ok := dig(docs, "ConfigMap", "data", "mine.rego").(string)
				return content, ok
			}},
		{path: "metrics.serviceMonitor.interval", enable: valuesAt("metrics.serviceMonitor.enabled", true)},
		{path: "networkPolicy.controlPlaneCIDRs", wrap: list},
		{path: "networkPolicy.registryCIDRs", wrap: list},
		{path: "networkPolicy.apiServerCIDRs", wrap: list, enable: map[string]any{
			"pullSecrets": map[string]any{"enabled": true}, "networkPolicy": map[string]any{"registryCIDRs": []any{"10.0.0.0/8"}},
		}},
		{path: "pullSecrets.namespaces", wrap: list, enable: valuesAt("pullSecrets.enabled", true)},
		{path: "resources.limits.cpu"},
		{path: "resources.limits.memory"},
		{path: "audit.schedule", enable: audit},
		{path: "audit.timeZone", enable: audit},
		{path: "audit.reportAPI", enable: audit},
		{path: "audit.extraArgs", wrap: list, enable: audit},
		{path: "audit.resources.limits.cpu", enable: audit},
		{path: "audit.resources.limits.memory", enable: audit},
	}
}

func TestStringValuesInjectingIntoThePodSpecAreRefusedOrInert(t *testing.T) {
	t.Parallel()
	const schemaError = "values don't meet the specifications of the schema"
	for _, target := range chartStringValues(t) {
		var enable []string
		if target.enable != nil {
			enable = strings.Split(valuesFile(t, target.enable), "\x00")
		}
		// The objects the chart renders for these values without an attack.
		wantKinds := kindsOf(manifests(t, mustHelm(t, append([]string{"template", release, ".", "--namespace", namespace}, enable...)...)))
		for name, payload := range injections {
			t.Run(target.path+"/"+name, func(t *testing.T) {
				t.Parallel()
				var v any = payload
				if target.wrap != nil {
					v = target.wrap(payload)
				}
				files := []map[string]any{}
				if target.enable != nil {
					files = append(files, target.enable)
				}
				files = append(files, valuesAt(target.path, v))
				args := append([]string{"template", release, ".", "--namespace", namespace}, strings.Split(valuesFile(t, files...), "\x00")...)
				out, err := helm(t, args...)
				if err != nil {
					if !strings.Contains(err.Error(), schemaError) {
						t.Fatalf("%s=%q: helm failed, but not on the schema (a broken manifest, not a refusal): %v", target.path, payload, err)
					}
					return
				}
				docs := manifests(t, out)
				for _, doc := range docs {
					if found := injectedKeys(doc, ""); len(found) != 0 {
						t.Errorf("%s=%q injected %v into the rendered manifests", target.path, payload, found)
					}
				}
				if kinds := kindsOf(docs); !slices.Equal(kinds, wantKinds) {
					t.Errorf("%s=%q changed the rendered objects to %v", target.path, payload, kinds)
				}
				if target.rendered != nil {
					if got, ok := target.rendered(docs); !ok || got != payload {
						t.Errorf("%s=%q rendered as %q (found %v), want the value unchanged", target.path, payload, got, ok)
					}
				}
			})
		}
	}
}

func mustHelm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm %v: %v", args, err)
	}
	return out
}

func kindsOf(docs []any) []string {
	var kinds []string
	for _, doc := range docs {
		m, _ := doc.(map[string]any)
		kind, _ := m["kind"].(string)
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	return kinds
}

// dig follows keys (string) and indexes (int) from the first document of kind
// that has them; nil if none has.
func dig(docs []any, kind string, path ...any) any {
	for _, doc := range docs {
		if m, _ := doc.(map[string]any); m["kind"] != kind {
			continue
		}
		v := doc
		for _, p := range path {
			switch p := p.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[p]
			case int:
				l, _ := v.([]any)
				if p >= len(l) {
					v = nil
					break
				}
				v = l[p]
			}
		}
		if v != nil {
			return v
		}
	}
	return nil
}

// The patterns and the quoting refuse nothing a real installation writes: a
// registry with a port, nested repository paths, a tag with dots and dashes, a
// pull secret given either as a name or as {name}, and a common name with
// spaces and colons all come out exactly as given.
func TestRealValuesRenderVerbatimThroughQuotingAndPatterns(t *testing.T) {
	t.Parallel()
	ca, err := os.ReadFile("testdata/client-ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{
		"image":             map[string]any{"repository": "registry.example.com:5000/platform/strata_mirror/strata", "tag": "v1.2.3-rc.1_build"},
		"imagePullSecrets":  []any{"regcred", map[string]any{"name": "mirror.pull-secret"}},
		"priorityClassName": "system-cluster-critical",
		"webhook":           map[string]any{"clientAuth": map[string]any{"enabled": true, "caBundle": string(ca), "cn": "system:kube-apiserver webhook client"}},
		"resources":         map[string]any{"limits": map[string]any{"cpu": "500m", "memory": "1Gi"}},
	}
	args := append([]string{"template", release, ".", "--namespace", namespace}, strings.Split(valuesFile(t, values), "\x00")...)
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template with real values: %v", err)
	}
	var d appsv1.Deployment
	for _, doc := range strings.Split(out, "\n---\n") {
		if strings.Contains(doc, "\nkind: Deployment\n") {
			if err := yaml.UnmarshalStrict([]byte(doc), &d); err != nil {
				t.Fatalf("Deployment does not decode strictly: %v", err)
			}
		}
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers rendered, want strata's", len(pod.Containers))
	}
	c := pod.Containers[0]
	if want := "registry.example.com:5000/platform/strata_mirror/strata:v1.2.3-rc.1_build"; c.Image != want {
		t.Errorf("image = %q, want %q", c.Image, want)
	}
	var secrets []string
	for _, s := range pod.ImagePullSecrets {
		secrets = append(secrets, s.Name)
	}
	if !slices.Equal(secrets, []string{"regcred", "mirror.pull-secret"}) {
		t.Errorf("imagePullSecrets = %q, want [regcred mirror.pull-secret]", secrets)
	}
	if pod.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName = %q", pod.PriorityClassName)
	}
	if !slices.Contains(c.Args, "--client-cn=system:kube-apiserver webhook client") {
		t.Errorf("args = %q, want the common name as one argument", c.Args)
	}
	if c.Resources.Limits.Cpu().String() != "500m" || c.Resources.Limits.Memory().String() != "1Gi" {
		t.Errorf("limits = %v, want cpu 500m and memory 1Gi", c.Resources.Limits)
	}
}
