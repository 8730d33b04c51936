package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/workload"
)

const auditDoc = "../../docs/audit.md"

// docs/audit.md's table of flags names every flag strata audit takes, with
// its default: a value, off or on for a switch, none; or words for a
// default found elsewhere (the kubeconfig, the context's namespace, the
// built-in configuration), for flags whose own default is empty.
func TestAuditDocumentFlagsTableIsAuditsFlags(t *testing.T) {
	t.Parallel()
	fs := newAuditCommand(io.Discard, io.Discard, nil).Flags()
	documented := map[string]bool{}
	var rows int
	for _, line := range strings.Split(testutil.DocSection(t, auditDoc, "## Flags"), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		rows++
		// A cell's \| is a pipe inside a value (enforce\|warn\|audit).
		cells := strings.Split(strings.ReplaceAll(strings.Trim(line, "|"), `\|`, "/"), "|")
		flags, def := cells[0], strings.Trim(strings.TrimSpace(cells[1]), "`")
		switch def {
		case "off":
			def = "false"
		case "on":
			def = "true"
		case "none":
			def = ""
		}
		if strings.ContainsAny(def, " ,$") { // words, not a value
			def = ""
		}
		for _, m := range regexp.MustCompile("`(-[-a-zA-Z]+)").FindAllStringSubmatch(flags, -1) {
			var f *pflag.Flag
			if name, ok := strings.CutPrefix(m[1], "--"); ok {
				f = fs.Lookup(name)
			} else {
				f = fs.ShorthandLookup(strings.TrimPrefix(m[1], "-"))
			}
			if f == nil {
				t.Errorf("docs/audit.md's flags table names %s, which strata audit does not take", m[1])
				continue
			}
			documented[f.Name] = true
			if f.DefValue != def && !(f.Value.Type() == "bool" && def == "" && f.DefValue == "false") {
				t.Errorf("docs/audit.md: %s defaults to %q; strata audit's default is %q", m[1], def, f.DefValue)
			}
		}
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if !documented[f.Name] {
			t.Errorf("strata audit takes --%s, which docs/audit.md's flags table does not name", f.Name)
		}
	})
	if rows < 10 {
		t.Fatalf("docs/audit.md's flags table has %d rows: is it still under ## Flags?", rows)
	}
	testutil.DocStates(t, auditDoc,
		fmt.Sprintf("so a slow registry gets more than the webhook's %v", webhook.DefaultResolveBudget.Seconds())+" s.",
		"The defaults are the flags' in `cmd/strata/audit.go`",
	)
}

// --mode decides, never the config's mode: the default answers "what
// breaks if I enforce" whatever the cluster's mode; without --config the
// built-in configuration is used (./strata.yaml is not read).
func TestAuditDecidesInTheFlagsModeNotTheConfigs(t *testing.T) {
	testutil.DocStates(t, auditDoc,
		"| `--mode enforce\\|warn\\|audit` | `enforce` | which actions count; the config's `mode` is not used",
		"| `--config FILE` | the defaults |",
	)
	cluster := clusterOf("shop/admin admin:1.0") // runs as root
	config := testutil.WriteFile(t, t.TempDir(), "strata.yaml", "mode: audit\n")
	if code, out, errOut := runAuditOn(t.Context(), t, &fakeCluster{objects: cluster}, "-A", "--config", config); code != 0 || !strings.HasPrefix(out, "if enforced: 1 workload in 1 namespace would be denied\n") {
		t.Errorf("strata audit --config (mode: audit) = exit %d, stderr %q, output:\n%s\nwant the enforce headline", code, errOut, out)
	}
	// A ./strata.yaml that exempts shop is not read.
	dir := t.TempDir()
	testutil.WriteFile(t, dir, "strata.yaml", "exempt:\n  namespaces: [shop]\n")
	t.Chdir(dir)
	if _, out, _ := runAuditOn(t.Context(), t, &fakeCluster{objects: cluster}, "-A"); !strings.HasPrefix(out, "if enforced: 1 workload in 1 namespace would be denied\n") {
		t.Errorf("strata audit beside a strata.yaml exempting shop:\n%s\nwant the built-in configuration's denial", out)
	}
}

// clusterOf is a fake cluster's Deployments, each "namespace/name image"
// of the demo's shop/ images, with the UID and apiVersion a cluster gives.
func clusterOf(deployments ...string) []inventory.Object {
	var objs []inventory.Object
	for _, d := range deployments {
		name, image, _ := strings.Cut(d, " ")
		ns, name, _ := strings.Cut(name, "/")
		objs = append(objs, inventory.Object{APIVersion: "apps/v1", UID: "uid-" + ns + "-" + name, Workload: &workload.Workload{
			Kind: "Deployment", Namespace: ns, Name: name,
			Containers: []workload.Container{{Name: "app", Type: workload.TypeContainer, Image: "strata-demo.local/shop/" + image}},
		}})
	}
	return objs
}

// docs/audit.md's step 4: a namespace is ready to enforce when its preview
// reads "if enforced: 0 workloads in 0 namespaces would be denied".
func TestAuditHeadlineOfANamespaceReadyToEnforce(t *testing.T) {
	t.Parallel()
	_, headline, ok := strings.Cut(testutil.DocProse(t, auditDoc), "when its preview reads `")
	headline, _, _ = strings.Cut(headline, "`")
	if !ok {
		t.Fatal("docs/audit.md does not say what the preview of a namespace ready to enforce reads")
	}
	f := &fakeCluster{objects: clusterOf("shop/web web:1.0")}
	if code, out, errOut := runAuditOn(t.Context(), t, f, "-n", "shop"); code != 0 || !strings.HasPrefix(out, headline+"\n") {
		t.Errorf("strata audit -n shop of a compliant namespace = exit %d, stderr %q, output:\n%s\nwant the headline %q", code, errOut, out, headline)
	}
}

// docs/audit.md: an interrupted run says what errInterrupted says, after
// the command's name (TestAuditInterruptedReportsNothing runs it).
func TestAuditDocumentQuotesTheInterruption(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, auditDoc, "It says `strata audit: "+errInterrupted.Error()+"` and exits 2.")
}

// reportsAPI answers the report API's calls as an empty cluster would: no
// report listed, every apply accepted and kept in applied, by name.
func reportsAPI(t *testing.T) (kubeconfig string, applied *sync.Map) {
	t.Helper()
	applied = &sync.Map{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			_, _ = io.WriteString(w, `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{},"items":[]}`)
		case http.MethodPatch: // server-side apply: the object, in YAML
			body, _ := io.ReadAll(r.Body)
			obj, err := yaml.YAMLToJSON(body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			applied.Store(path.Base(r.URL.Path), obj)
			_, _ = w.Write(obj)
		default:
			http.Error(w, "unexpected", http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(srv.Close)
	return kubeconfigAt(t, srv.URL), applied
}

// auditReportsAs runs strata audit -A --write-reports on cluster, its
// workloads given the uids the rows of a kubectl get policyreports -A name
// their reports after, and fails t unless each row's counts of pass, fail,
// warn, error and skip are those of the report applied. It returns the
// reports applied, by name, and what the run wrote to stderr.
func auditReportsAs(t *testing.T, rows []string, cluster []inventory.Object) (applied *sync.Map, stderr string) {
	t.Helper()
	uids := map[string]string{} // namespace/Kind/name: uid
	for _, row := range rows {
		f := strings.Fields(row)
		uids[f[0]+"/"+f[2]+"/"+f[3]] = strings.TrimPrefix(f[1], "strata-")
	}
	for i, o := range cluster {
		if uid, ok := uids[o.Workload.Namespace+"/"+o.Workload.Kind+"/"+o.Workload.Name]; ok {
			cluster[i].UID = uid
		}
	}
	kubeconfig, applied := reportsAPI(t)
	code, out, errOut := runAuditOn(t.Context(), t, &fakeCluster{objects: cluster}, "-A", "--write-reports", "--kubeconfig", kubeconfig)
	if code != 0 || !strings.HasPrefix(out, "if enforced:") {
		t.Fatalf("strata audit --write-reports = exit %d, stderr %q", code, errOut)
	}
	for _, row := range rows {
		f := strings.Fields(row)
		raw, ok := applied.Load(f[1])
		var r struct{ Summary map[string]int }
		if !ok || json.Unmarshal(raw.([]byte), &r) != nil {
			t.Errorf("strata audit --write-reports applied no report %s", f[1])
			continue
		}
		if got := fmt.Sprintf("%d %d %d %d %d", r.Summary["pass"], r.Summary["fail"], r.Summary["warn"], r.Summary["error"], r.Summary["skip"]); got != strings.Join(f[4:9], " ") {
			t.Errorf("report %s (%s/%s/%s) counts pass, fail, warn, error, skip %s; docs/audit.md shows %s", f[1], f[0], f[2], f[3], got, strings.Join(f[4:9], " "))
		}
	}
	return applied, errOut
}

// docs/audit.md's Reports section: the two kubectl get policyreports are
// the reports strata writes for the page's workloads, before and after
// team/Pod/admin is deleted and shop/StatefulSet/legacy moved to a good
// image; the first run's reports line is what it writes to stderr (one
// report each, none for the exempt workload); and the report excerpt's
// name, label, hash, owner and warn result are what it applies for
// payments/Job/export (the fields the API server adds, and the result's
// timestamp, aside).
func TestAuditDocumentShowsTheReportsWritten(t *testing.T) {
	t.Parallel()
	section := testutil.DocSection(t, auditDoc, "## Reports")
	lines := regexp.MustCompile(`(?m)^reports: \d+ created, \d+ updated, \d+ unchanged, \d+ deleted$`).FindAllString(section, -1)
	var tables [][]string
	for rest := section; ; {
		_, table, ok := strings.Cut(rest, "\n$ kubectl get policyreports -A\n")
		if !ok {
			break
		}
		table, rest, _ = strings.Cut(table, "\n```\n")
		tables = append(tables, strings.Split(table, "\n")[1:])
	}
	if len(lines) != 3 || len(tables) != 2 || len(tables[0]) != 7 || len(tables[1]) != 6 {
		t.Fatalf("docs/audit.md's Reports section shows %d reports lines and %d tables, want its three runs' lines and two tables of 7 and 6 reports", len(lines), len(tables))
	}
	_, excerpt, _ := strings.Cut(section, "\n```yaml\n")
	excerpt, _, _ = strings.Cut(excerpt, "\n```\n")
	var shown []map[string]any
	if err := yaml.Unmarshal([]byte(regexp.MustCompile(`(?m)^ *…\n`).ReplaceAllString(excerpt+"\n", "")), &shown); err != nil || len(shown) != 1 {
		t.Fatalf("docs/audit.md's report excerpt: %v (%d reports)", err, len(shown))
	}
	report := shown[0]
	meta := report["metadata"].(map[string]any)

	applied, stderr := auditReportsAs(t, tables[0], auditDocCluster())
	if stderr != lines[0]+"\n" {
		t.Errorf("strata audit --write-reports wrote %q to stderr, want %q", stderr, lines[0])
	}
	var after []inventory.Object
	for _, o := range auditDocCluster() {
		switch o.Workload.Kind + "/" + o.Workload.Name {
		case "Pod/admin":
			continue
		case "StatefulSet/legacy":
			o.Workload.Containers[0].Image = "strata-demo.local/shop/web:1.0"
		}
		after = append(after, o)
	}
	auditReportsAs(t, tables[1], after)

	raw, ok := applied.Load(meta["name"])
	var got map[string]any
	if !ok || json.Unmarshal(raw.([]byte), &got) != nil {
		t.Fatalf("strata audit --write-reports applied no report %v", meta["name"])
	}
	gotMeta := got["metadata"].(map[string]any)
	for _, k := range []string{"annotations", "labels", "name", "namespace", "ownerReferences"} {
		if !reflect.DeepEqual(gotMeta[k], meta[k]) {
			t.Errorf("report %v: metadata.%s = %v, docs/audit.md shows %v", meta["name"], k, gotMeta[k], meta[k])
		}
	}
	for _, r := range report["results"].([]any) {
		want := r.(map[string]any)
		delete(want, "timestamp")
		if !slices.ContainsFunc(got["results"].([]any), func(g any) bool {
			g = maps.Clone(g.(map[string]any))
			delete(g.(map[string]any), "timestamp")
			return reflect.DeepEqual(g, want)
		}) {
			t.Errorf("report %v holds no result as docs/audit.md shows it: %v\nit holds %v", meta["name"], want, got["results"])
		}
	}
}

// workloadsOf is a fake cluster's workloads, each "namespace/Kind/name
// image pods" with one container, app, running the demo's shop/ image.
func workloadsOf(specs ...string) []inventory.Object {
	var objs []inventory.Object
	for _, s := range specs {
		var id, image string
		var pods int
		if _, err := fmt.Sscan(s, &id, &image, &pods); err != nil {
			panic(s)
		}
		parts := strings.Split(id, "/")
		apiVersion := map[string]string{"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}[parts[1]]
		objs = append(objs, inventory.Object{APIVersion: cmp.Or(apiVersion, "apps/v1"), UID: "uid-" + parts[2], Pods: pods, Workload: &workload.Workload{
			Kind: parts[1], Namespace: parts[0], Name: parts[2],
			Containers: []workload.Container{{Name: "app", Type: workload.TypeContainer, Image: "strata-demo.local/shop/" + image}},
		}})
	}
	return objs
}

// auditDocCluster holds the workloads of docs/audit.md's run: the demo's
// images in three namespaces, a Deployment of three pods and a bare pod, and
// one workload in the exempt kube-system.
func auditDocCluster() []inventory.Object {
	return workloadsOf(
		"shop/Deployment/web web:1.0 3", "shop/StatefulSet/legacy legacy:1.0 0", "shop/CronJob/report report:1.0 0",
		"team/DaemonSet/agent admin:1.0 0", "team/Pod/admin admin:1.0 1",
		"payments/Deployment/billing billing:1.0 0", "payments/Job/export billing:1.0 0",
		"kube-system/Deployment/node-agent admin:1.0 0")
}

// docs/audit.md's two previews are what strata audit prints for a cluster
// of the workloads they name (the first came from a real API server: its
// findings are TestAuditAgainstAnAPIServer's).
func TestAuditDocumentShowsWhatAuditPrints(t *testing.T) {
	t.Parallel()
	section := testutil.DocSection(t, auditDoc, "## What it prints")
	var blocks []string
	for rest := section; ; {
		_, after, ok := strings.Cut(rest, "\n```\n")
		if !ok {
			break
		}
		block, tail, _ := strings.Cut(after, "\n```\n")
		blocks, rest = append(blocks, block), tail
	}
	if len(blocks) != 2 {
		t.Fatalf("docs/audit.md's What it prints has %d plain blocks, want its two previews", len(blocks))
	}
	for i, tc := range []struct {
		args    []string
		cluster []inventory.Object
	}{
		{[]string{"-A"}, auditDocCluster()},
		// The fake lists what it holds, whatever -n asks: shop alone, its
		// StatefulSet moved to a good image.
		{[]string{"-n", "shop"}, workloadsOf(
			"shop/Deployment/web web:1.0 3", "shop/StatefulSet/legacy web:1.0 0", "shop/CronJob/report report:1.0 0")},
	} {
		code, out, errOut := runAuditOn(t.Context(), t, &fakeCluster{objects: tc.cluster}, tc.args...)
		if got := strings.TrimSuffix(out, "\n"); code != 0 || got != blocks[i] {
			t.Errorf("strata audit %s = exit %d, stderr %q, stdout:\n%s\n\ndocs/audit.md shows:\n%s", strings.Join(tc.args, " "), code, errOut, got, blocks[i])
		}
	}
}

// docs/audit.md's JSON excerpt, "from the run above": its head, its first
// policy and its workload are what strata audit -A -o json writes for the
// same workloads (the workload's uid, read from the cluster, given to the
// fake as the excerpt has it).
func TestAuditDocumentShowsWhatAuditWritesAsJSON(t *testing.T) {
	t.Parallel()
	_, excerpt, _ := strings.Cut(testutil.DocSection(t, auditDoc, "## JSON (`-o json`), schema version 1"), "\n```json\n")
	excerpt, _, _ = strings.Cut(excerpt, "\n```\n")
	// part is the JSON object re's group holds, with around's braces
	// added when it holds only the fields of one.
	part := func(re, around string) map[string]any {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(excerpt)
		var v map[string]any
		if m == nil || json.Unmarshal([]byte(around[:len(around)/2]+strings.TrimSuffix(m[1], ",")+around[len(around)/2:]), &v) != nil {
			t.Fatalf("docs/audit.md's JSON excerpt has no %s", re)
		}
		return v
	}
	head := part(`(?s)^\{\s*("schemaVersion".*?"summary": \{[^{}]*\}),`, "{}")
	policy := part(`(?s)"policies": \[\s*(\{[^{}]*\})`, "")
	shown := part(`(?s)"workloads": \[\n(.*?)\n    …`, "")

	cluster := auditDocCluster()
	for i, o := range cluster {
		if o.Workload.Namespace == shown["namespace"] && o.Workload.Kind == shown["kind"] && o.Workload.Name == shown["name"] {
			cluster[i].UID, _ = shown["uid"].(string)
		}
	}
	code, out, errOut := runAuditOn(t.Context(), t, &fakeCluster{objects: cluster}, "-A", "-o", "json")
	var got struct {
		SchemaVersion any              `json:"schemaVersion"`
		Mode          any              `json:"mode"`
		Summary       any              `json:"summary"`
		Policies      []map[string]any `json:"policies"`
		Workloads     []map[string]any `json:"workloads"`
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || len(got.Policies) == 0 {
		t.Fatalf("strata audit -A -o json = exit %d, %v, stderr %q", code, err, errOut)
	}
	if g := map[string]any{"schemaVersion": got.SchemaVersion, "mode": got.Mode, "summary": got.Summary}; !reflect.DeepEqual(g, head) {
		t.Errorf("strata audit -A -o json's head = %v, docs/audit.md shows %v", g, head)
	}
	if !reflect.DeepEqual(got.Policies[0], policy) {
		t.Errorf("strata audit -A -o json's first policy = %v, docs/audit.md shows %v", got.Policies[0], policy)
	}
	if !slices.ContainsFunc(got.Workloads, func(w map[string]any) bool { return reflect.DeepEqual(w, shown) }) {
		t.Errorf("strata audit -A -o json writes no workload as docs/audit.md shows it:\n%v\nwrites:\n%v", shown, got.Workloads)
	}
}
