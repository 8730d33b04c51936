package audit

import (
	"fmt"
	"maps"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
)

// What docs/policy-reports.md names is what the writer writes: each report
// API's group, version and kinds, and the CRD sources the e2e suite
// installs; the report's name, label, annotations and field manager; the
// object bound; the writer's rate, burst, calls in flight and page size.
func TestPolicyReportsDocumentNamesWhatTheWriterWrites(t *testing.T) {
	t.Parallel()
	const doc = "../../docs/policy-reports.md"
	rows := map[string][]string{}
	for _, cells := range testutil.DocTable(t, doc, "## Which API")[2:] {
		rows[strings.Trim(strings.Fields(cells[0])[0], "`")] = cells[1:]
	}
	crds := string(testutil.ReadFile(t, "testdata/crds/README.md"))
	for api, k := range apis {
		cells, ok := rows[string(api)]
		if !ok || len(cells) != 3 {
			t.Errorf("%s: docs/policy-reports.md has no row of three cells for --report-api %s", doc, api)
			continue
		}
		if want := fmt.Sprintf("`%s/%s` `%s`", k.namespaced.Group, k.namespaced.Version, k.kind); cells[0] != want || cells[1] != "`"+k.clusterKind+"`" {
			t.Errorf("%s: %s writes %q and %q; the writer writes %s and %s", doc, api, cells[0], cells[1], want, k.clusterKind)
		}
		// The source and version the CRDs were vendored from, as their README records.
		src := regexp.MustCompile("`(github.com/[^`]+)` (v[0-9.]+)").FindStringSubmatch(cells[2])
		if src == nil || !strings.Contains(crds, src[1]+" "+src[2]) {
			t.Errorf("%s: %s's CRDs come from %q, which testdata/crds/README.md does not record", doc, api, cells[2])
		}
	}
	w := NewWriter(nil, WriterOptions{})
	prose := testutil.DocProse(t, doc)
	for _, want := range []string{
		"**Name** `" + reportNamePrefix + "<workload UID>`",
		"gives `" + hashedNamePrefix + "<32 hex digits>`",
		fmt.Sprintf("**Label** `%s: %s`", LabelManagedBy, FieldManager),
		"**Annotation** `" + AnnotationReportHash + "`",
		"`" + AnnotationPassesOmitted + "` says how many",
		fmt.Sprintf("once it passes %d MiB", maxReportBytes>>20),
		fmt.Sprintf("(field manager `%s`, forced)", FieldManager),
		fmt.Sprintf("(label selector `%s=%s`, pages of %d;", LabelManagedBy, FieldManager, w.opts.ChunkSize),
		fmt.Sprintf("`--qps` (default %v calls per second, burst %d), at most %d calls in flight", w.opts.QPS, w.opts.Burst, w.opts.Concurrency),
		fmt.Sprintf("with the pages of %d", w.opts.ChunkSize),
	} {
		if !strings.Contains(prose, want) {
			t.Errorf("%s does not say %q, which is what the writer does", doc, want)
		}
	}
}

// A container whose image exempt.images covers is not checked, so it has no
// results; the pod's other containers have theirs (docs/policy-reports.md).
func TestReportOfAnExemptImageHasNoResults(t *testing.T) {
	t.Parallel()
	cfg := webhook.DefaultConfig()
	cfg.Exempt.Images = []string{demo.Host + "/shop/admin:*"}
	p := pipelinetest.DemoWith(t, cfg)
	inv, err := inventory.Build(t.Context(), []inventory.Object{reportsObject("Deployment", "shop", "mixed", "shop/web:1.0", "shop/admin:1.0")}, inventory.Options{Checker: p.Checker, Mode: policy.Enforce})
	if err != nil {
		t.Fatal(err)
	}
	reports, _ := builtReports(t, ReportAPIWGPolicy, p, inv, time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))
	var c0 int
	for key := range resultsOf(t, reports["mixed"]) {
		switch rule := strings.Fields(key)[1]; {
		case strings.HasPrefix(rule, "c1"):
			t.Errorf("the exempt container c1 has the result %s, want none", key)
		case strings.HasPrefix(rule, "c0"):
			c0++
		}
	}
	if c0 == 0 {
		t.Error("the checked container c0 has no results, want one per policy and platform")
	}
}

// A workload in an exempt namespace gets no report, and the report it had
// before its namespace was exempt is deleted (docs/policy-reports.md).
func TestReportWriterSkipsAndPrunesExemptNamespaces(t *testing.T) {
	t.Parallel()
	p := pipelinetest.Demo(t)
	inv := reportsInventory(t, p, policy.Enforce)
	var exempt *inventory.Workload
	for i := range inv.Workloads {
		if inv.Workloads[i].Exempt {
			exempt = &inv.Workloads[i]
		}
	}
	if exempt == nil {
		t.Fatal("reportsInventory has no workload in an exempt namespace")
	}
	srv := &reportListServer{extra: [][2]string{{exempt.Namespace, ReportName(exempt.UID)}}}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewWriter(dyn, WriterOptions{API: ReportAPIWGPolicy, QPS: 1000}).Write(t.Context(), inv, Scope{}); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	report := "namespaces/" + exempt.Namespace + "/policyreports/" + ReportName(exempt.UID)
	if slices.Contains(srv.applied, report) || len(srv.applied) != len(inv.Workloads)-1 {
		t.Errorf("applied %v, want every workload's report but %s's", srv.applied, exempt.Name)
	}
	if !slices.Contains(srv.deleted, report) {
		t.Errorf("deleted %v, want %s, whose workload's namespace is now exempt", srv.deleted, report)
	}
}

// docs/policy-reports.md's table of a result's fields names every field of
// the golden reports' results, and its properties row every property they
// hold, no more: a field added or renamed fails here.
func TestPolicyReportsDocumentNamesEveryResultField(t *testing.T) {
	t.Parallel()
	fields, properties := map[string]bool{}, map[string]bool{}
	for _, api := range []ReportAPI{ReportAPIWGPolicy, ReportAPIOpenReports} {
		for _, doc := range strings.Split(string(testutil.ReadFile(t, "testdata/reports."+string(api)+".golden.yaml")), "\n---\n") {
			var report struct{ Results []map[string]any }
			if err := yaml.Unmarshal([]byte(doc), &report); err != nil {
				t.Fatal(err)
			}
			for _, r := range report.Results {
				for k, v := range r {
					fields[k] = true
					if k == "properties" {
						for p := range v.(map[string]any) {
							properties[p] = true
						}
					}
				}
			}
		}
	}
	named := regexp.MustCompile("`([A-Za-z]+)`")
	documented, documentedProperties := map[string]bool{}, map[string]bool{}
	for _, cells := range testutil.DocTable(t, "../../docs/policy-reports.md", "## One result per policy × container × platform")[2:] {
		documented[strings.Trim(cells[0], "`")] = true
		if cells[0] == "`properties`" {
			for _, m := range named.FindAllStringSubmatch(cells[1], -1) {
				if m[1] != "true" { // a property's value, not its name
					documentedProperties[m[1]] = true
				}
			}
		}
	}
	if len(properties) == 0 || !maps.Equal(fields, documented) || !maps.Equal(properties, documentedProperties) {
		t.Errorf("docs/policy-reports.md names the fields %v and properties %v; the golden reports' results hold %v and %v",
			slices.Sorted(maps.Keys(documented)), slices.Sorted(maps.Keys(documentedProperties)), slices.Sorted(maps.Keys(fields)), slices.Sorted(maps.Keys(properties)))
	}
}
