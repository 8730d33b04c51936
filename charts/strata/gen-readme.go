//go:build ignore

// gen-readme writes the chart's README.md from values.yaml: the comment above
// each key is its documentation, so there is one source for both. It fails if
// a value has no comment. Run from charts/strata:
//
//	go run gen-readme.go > README.md
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

const header = `# strata Helm chart

<!-- Generated from values.yaml by gen-readme.go: edit those, then run
     go run gen-readme.go > README.md -->

Install strata as a platform guardrail, in **audit** mode: every namespace is checked, and
violations are only recorded (decision log, ` + "`strata_violations_total`" + `, audit annotations).

` + "```sh" + `
helm install strata charts/strata --namespace strata-system --create-namespace
` + "```" + `

Then move towards **enforce** one namespace at a time: warn first, so that teams see each
violation in kubectl, then enforce, and finally make enforce the default.

` + "```sh" + `
helm upgrade strata charts/strata -n strata-system --reuse-values --set 'namespaces.warn={team-a}'
helm upgrade strata charts/strata -n strata-system --reuse-values --set 'namespaces.warn={}' --set 'namespaces.enforce={team-a}'
helm upgrade strata charts/strata -n strata-system --reuse-values --set mode=enforce --set 'namespaces.enforce={}'
` + "```" + `

To empty a list, ` + "`={}`, `=[]`, `=null` and `=`" + ` (nothing) all work with helm v4 (a bare
` + "`=team-a`" + ` is refused: write ` + "`={team-a}`" + `).

## How it is wired

- One ` + "`ValidatingWebhookConfiguration`" + ` with three entries, calling ` + "`/validate/enforce`" + `,
  ` + "`/validate/warn`" + ` and ` + "`/validate/audit`" + ` (with ` + "`/pinned`" + ` for a mode whose ` + "`pinDigests`" + ` is on:
  there an image the pin should have pinned and did not is an ` + "`unpinned-image`" + ` violation). Each selects namespaces by
  ` + "`kubernetes.io/metadata.name`" + `: the entry of the default ` + "`mode`" + ` takes every namespace not listed
  under another mode; the others take their lists. The release namespace, ` + "`kube-system`" + ` and
  ` + "`exempt.namespaces`" + ` are excluded from every entry. Enforce fails closed (` + "`failurePolicy: Fail`" + `),
  warn and audit fail open; ` + "`webhook.failurePolicy`" + ` overrides either.
- Pods (CREATE, and UPDATE only when a container image changes: a Pod's securityContext is
  immutable, so a match condition skips every other Pod update; with ` + "`policies.custom`" + `, which may
  read labels, annotations or the request, every Pod update is sent), ` + "`pods/ephemeralcontainers`" + `,
  Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs, ReplicationControllers.
- A ` + "`MutatingWebhookConfiguration`" + ` (when ` + "`pinDigests.enabled`" + ` is on for a mode; by default for enforce)
  calls ` + "`/mutate/pin`" + ` with that mode's namespace selection: each Pod image without a digest becomes
  ` + "`name:tag@sha256:...`" + `, the digest strata evaluated. Pods and ` + "`pods/ephemeralcontainers`" + ` only (workload
  templates keep their tags); ` + "`failurePolicy: Ignore`" + `, ` + "`reinvocationPolicy: IfNeeded`" + `; RBAC is unchanged.
  Its match conditions skip a Pod update that changes no image, and a Pod whose every image already names
  a digest (nothing to pin: a reinvocation after the pin, a template written by digest).
- ` + "`registry.timeout`" + ` (the registry budget of one admission) defaults to one second less than
  ` + "`webhook.timeoutSeconds`" + `, so that strata decides before the API server gives up.
- Certificates (` + "`certificates.mode`" + `): ` + "`generate`" + ` (a CA and serving certificate made by the chart and
  kept across upgrades), ` + "`certManager`" + ` (a cert-manager CA and serving Certificate; the cainjector fills
  the caBundle), or ` + "`secret`" + ` (yours). strata reloads a renewed certificate without restarting.
- strata's pods run as uid 65532, non-root, read-only, without capabilities, with the
  RuntimeDefault seccomp profile: they pass strata's own policies and the restricted Pod
  Security profile. With ` + "`pullSecrets.enabled=false`" + ` (the default) they have no API access at all.
- ` + "`audit.enabled`" + ` adds a CronJob running ` + "`strata audit -A --write-reports`" + ` (same image, same
  ` + "`strata.yaml`" + ` and policies as the webhook; ` + "`concurrencyPolicy: Forbid`" + `, ` + "`activeDeadlineSeconds`" + `) under
  its own ServiceAccount, whose ClusterRole may only ` + "`list`" + ` pods, replicationcontrollers, deployments,
  replicasets, statefulsets, daemonsets, jobs and cronjobs, and list/create/patch/delete (never get
  or update) the reports of ` + "`audit.reportAPI`" + ` (plus the webhook's pull-secret access when
  ` + "`pullSecrets.enabled`" + `, the only case where it reads pull secrets: ` + "`--pull-secrets`" + `). Its
  pods are locked down like the webhook's and carry their own labels, so no webhook Service,
  PodDisruptionBudget or NetworkPolicy selects them; their own NetworkPolicy admits no connection
  and, once ` + "`networkPolicy.registryCIDRs`" + ` restricts egress, lets them reach DNS, the registries and
  ` + "`networkPolicy.apiServerCIDRs`" + ` only.

Each point is asserted by the chart's render tests with the real helm (` + "`TestWebhookConfiguration`" + `,
` + "`TestPodLabelUpdateIsSentWhenCustomPoliciesAreInstalled`" + `, ` + "`TestPinWebhookConfiguration`" + `, ` + "`TestTimeouts`" + `,
` + "`TestCertificatesGenerate`" + `, ` + "`TestCertificatesCertManager`" + `, ` + "`TestCertificatesSecret`" + `, ` + "`TestDeployment`" + `,
` + "`TestRBAC`" + `, ` + "`TestAuditRBACIsTheLeastItNeeds`" + `, ` + "`TestAuditPodNetworkFollowsTheWebhooks`" + `), the empty-list
spellings by ` + "`TestDocumentedUpgradeCommandsRender`" + `, the certificate reload by
` + "`TestServeReloadsReplacedCertificate`" + ` (webhook).

## Values

| key | default | description |
|---|---|---|
`

type row struct{ key, def, doc string }

func main() {
	raw, err := os.ReadFile("values.yaml")
	if err != nil {
		fail(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		fail(fmt.Errorf("values.yaml: %w", err))
	}
	var rows []row
	var missing []string
	walk(doc.Content[0], "", &rows, &missing)
	if len(missing) > 0 {
		fail(fmt.Errorf("values.yaml: document these values with a comment above them: %s", strings.Join(missing, ", ")))
	}
	var b bytes.Buffer
	b.WriteString(header)
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.key, r.def, r.doc)
	}
	os.Stdout.Write(b.Bytes())
}

// walk lists every key of a mapping; a mapping with keys of its own is a
// section and its keys follow it.
func walk(n *yaml.Node, prefix string, rows *[]row, missing *[]string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := prefix + k.Value
		doc := comment(k.HeadComment)
		if doc == "" {
			*missing = append(*missing, key)
		}
		if v.Kind == yaml.MappingNode && len(v.Content) > 0 && key != "policies.data" {
			*rows = append(*rows, row{key: key, def: "", doc: doc})
			walk(v, key+".", rows, missing)
			continue
		}
		*rows = append(*rows, row{key: key, def: value(v), doc: doc})
		if v.Kind == yaml.MappingNode {
			walk(v, key+".", rows, missing)
		}
	}
}

// comment joins a head comment into one line, without the file's opening
// paragraph (separated from the first key's comment by a blank line).
func comment(c string) string {
	if i := strings.LastIndex(c, "\n\n"); i >= 0 {
		c = c[i+2:]
	}
	var words []string
	for line := range strings.SplitSeq(c, "\n") {
		words = append(words, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#")))
	}
	return strings.ReplaceAll(strings.TrimSpace(strings.Join(words, " ")), "|", `\|`)
}

// value renders a default as compact JSON.
func value(v *yaml.Node) string {
	var x any
	if err := v.Decode(&x); err != nil {
		fail(err)
	}
	j, err := json.Marshal(x)
	if err != nil {
		fail(err)
	}
	return "`" + string(j) + "`"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen-readme:", err)
	os.Exit(1)
}
