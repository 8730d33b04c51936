//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/strata-project/strata/test/cluster"
)

// `strata audit --write-reports` against a cluster that does not serve the
// report API (a fresh kube-apiserver: the suite's gets the CRDs from other
// tests) fails, naming the CRD to install and the other API, and writes
// nothing.
func TestAuditWriteReportsToAClusterWithoutTheCRDsSaysWhatToInstall(t *testing.T) {
	showLogsOnFailure(t)
	bare, err := cluster.StartAPIServer(cluster.APIServerOptions{ToolsBin: s.toolsBin, Dir: t.TempDir()})
	if bare != nil {
		t.Cleanup(func() { _ = bare.Stop() })
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.CreateNamespace(t.Context(), bare.Client, "shop"); err != nil {
		t.Fatal(err)
	}
	for api, crd := range map[string]string{"wgpolicyk8s": "policyreports.wgpolicyk8s.io", "openreports": "reports.openreports.io"} {
		out, stderr, err := strataDemo(t.Context(), bare.Kubeconfig, "audit", "-n", "shop", "--write-reports", "--report-api", api)
		if err == nil || !strings.Contains(stderr, "the cluster does not serve "+crd) || !strings.Contains(stderr, "install its CRDs") {
			t.Errorf("strata audit --write-reports --report-api %s on a cluster without %s = %v; stderr:\n%s\nstdout:\n%s\nwant a failure naming %s and what to install", api, crd, err, stderr, out, crd)
		}
	}
}
