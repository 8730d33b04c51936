package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/manifest"
	"github.com/strata-project/strata/webhook/workload"
)

// fakeCluster stands in for inventory.ListCluster in the tests of the
// commands' own work (flags, output, exit codes): it returns the examples'
// workloads (namespace shop) and two more in team and kube-system, and
// records what it was asked. The listing itself is tested against a real
// API server: TestAuditAgainstAnAPIServer and TestGraphAgainstAnAPIServer
// (test/e2e) run these commands there.
type fakeCluster struct {
	mu     sync.Mutex
	asked  []inventory.ListOptions
	err    error
	during func() // called while listing
	// objects, when set, are listed instead of the examples.
	objects []inventory.Object
}

func (f *fakeCluster) list(t *testing.T) clusterLister {
	return func(ctx context.Context, _ kubernetes.Interface, opts inventory.ListOptions) ([]inventory.Object, error) {
		f.mu.Lock()
		f.asked = append(f.asked, opts)
		f.mu.Unlock()
		if f.during != nil {
			f.during()
		}
		if f.err != nil {
			return nil, f.err
		}
		if f.objects != nil {
			return f.objects, nil
		}
		ms, _, err := manifest.Read([]string{examples}, nil, manifest.Limits{})
		if err != nil {
			t.Errorf("reading the examples: %v", err)
			return nil, err
		}
		objs := inventory.FromManifests(ms)
		for _, o := range []struct{ ns, name, image string }{{"team", "root", "shop/admin:1.0"}, {"kube-system", "agent", "shop/admin:1.0"}} {
			w := &workload.Workload{Kind: "Deployment", Namespace: o.ns, Name: o.name,
				Containers: []workload.Container{{Name: "main", Type: workload.TypeContainer, Image: demo.Host + "/" + o.image}}}
			objs = append(objs, inventory.Object{Workload: w, APIVersion: "apps/v1", UID: "uid-" + o.name, Pods: 2})
		}
		if opts.Listed != nil {
			opts.Listed(len(objs))
		}
		return objs, nil
	}
}

// kubeconfigNowhere is a kubeconfig whose server is never contacted: the
// listing is the fake's, and --pull-secrets=false reads no secret.
func kubeconfigNowhere(t *testing.T) string {
	t.Helper()
	return kubeconfigAt(t, "https://127.0.0.1:1")
}

// kubeconfigAt is a kubeconfig of the API server at server, in namespace
// team.
func kubeconfigAt(t *testing.T, server string) string {
	t.Helper()
	return testutil.WriteFile(t, t.TempDir(), "kubeconfig", `apiVersion: v1
kind: Config
current-context: a
clusters: [{name: a, cluster: {server: "`+server+`"}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: a, context: {cluster: a, user: u, namespace: team}}]
`)
}

// runOn runs strata audit or graph (command) with the fake cluster's
// listing in place of the API server's.
func runOn(ctx context.Context, t *testing.T, f *fakeCluster, command string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(strings.NewReader(""), &out, &errOut)
	for _, c := range root.Commands() {
		if c.Name() == command {
			root.RemoveCommand(c)
		}
	}
	var faked *cobra.Command
	switch command {
	case "audit":
		faked = newAuditCommand(&out, &errOut, f.list(t))
	case "graph":
		faked = newGraphCommand(strings.NewReader(""), &out, &errOut, f.list(t))
	default:
		t.Fatalf("runOn: %s does not read a cluster", command)
	}
	root.AddCommand(faked)
	args = append([]string{command, "--demo", "--pull-secrets=false", "--kubeconfig", kubeconfigNowhere(t)}, args...)
	code = execute(ctx, root, args, &errOut)
	return code, out.String(), errOut.String()
}

// runAuditOn runs strata audit with the fake cluster's listing.
func runAuditOn(ctx context.Context, t *testing.T, f *fakeCluster, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runOn(ctx, t, f, "audit", args...)
}

// runGraphOn runs strata graph with the fake cluster's listing.
func runGraphOn(ctx context.Context, t *testing.T, f *fakeCluster, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runOn(ctx, t, f, "graph", args...)
}
