//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook/demo"
)

// An adopter's first hour, scripted: a private registry with its own CA and
// a password holds the bases and the applications; the chart is installed
// (server-side applied) with registry.credentialsSecret and
// registry.caBundle naming a Secret and a ConfigMap made with kubectl;
// strata, run with what those mount, loads the catalog from that registry,
// allows an application on the approved base and denies one on an unknown
// base; and config validate flags a misspelt key.
func TestAdoptersFirstHour(t *testing.T) {
	showLogsOnFailure(t)
	needHelm(t)
	ctx := t.Context()
	ns := "e2e-first-hour"
	if err := cluster.CreateNamespace(ctx, s.client, ns); err != nil {
		t.Fatal(err)
	}
	b := &demo.Builder{}
	osImg := b.Image(empty.Image, "", "corp os")
	approved := b.Image(osImg, "65532", "approved app")
	rogue := b.Image(b.Image(empty.Image, "", "hand-rolled root filesystem"), "65532", "rogue app")
	if b.Err != nil {
		t.Fatal(b.Err)
	}
	if _, err := s.priv.push(ctx, "corp/base/os:1", osImg); err != nil {
		t.Fatal(err)
	}
	if _, err := s.priv.push(ctx, "corp/apps/approved:1", approved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.priv.push(ctx, "corp/apps/rogue:1", rogue); err != nil {
		t.Fatal(err)
	}

	// What the platform team creates, as the docs say.
	caFile := filepath.Join(t.TempDir(), "corp-ca.pem")
	if err := os.WriteFile(caFile, s.pki.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-n", ns, "create", "secret", "docker-registry", "corp-registry", "--docker-server=" + s.priv.addr, "--docker-username=" + s.priv.user, "--docker-password=" + s.priv.pass},
		{"-n", ns, "create", "configmap", "corp-ca", "--from-file=ca.crt=" + caFile},
	} {
		if out, err := kubectl(t, "", args...); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	manifest := helmCmd(t, "template", "first", "charts/strata", "-n", ns,
		"--set-string", "catalog.images[0].ref="+s.priv.ref("corp/base/os:*"), "--set", "catalog.images[0].role=os",
		"--set-string", "policies.data.approvedBases[0]="+s.priv.ref("corp/base/*"),
		"--set", "registry.credentialsSecret=corp-registry", "--set", "registry.caBundle.configMap=corp-ca")
	if out, err := kubectl(t, manifest, "apply", "--server-side", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("applying the chart server-side: %v\n%s", err, out)
	}

	// strata as the chart's pod runs it: its strata.yaml from the
	// ConfigMap, its docker config from the Secret, its CA from the
	// ConfigMap, read back from the API server.
	dir := t.TempDir()
	cm, err := s.client.CoreV1().ConfigMaps(ns).Get(ctx, "first-strata", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's ConfigMap: %v", err)
	}
	secret, err := s.client.CoreV1().Secrets(ns).Get(ctx, "corp-registry", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := s.client.CoreV1().ConfigMaps(ns).Get(ctx, "corp-ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var deploy struct {
		Spec struct {
			Template struct{ Spec corev1.PodSpec }
		}
	}
	raw, err := s.client.AppsV1().RESTClient().Get().AbsPath("/apis/apps/v1/namespaces/" + ns + "/deployments/first-strata").DoRaw(ctx)
	if err != nil || yaml.Unmarshal(raw, &deploy) != nil {
		t.Fatalf("the chart's Deployment: %v", err)
	}
	dockerDir := filepath.Join(dir, "docker")
	files := map[string][]byte{
		filepath.Join(dockerDir, "config.json"): secret.Data[corev1.DockerConfigJsonKey],
		filepath.Join(dir, "ca.crt"):            []byte(ca.Data["ca.crt"]),
		filepath.Join(dir, "strata.yaml"):       []byte(strings.ReplaceAll(cm.Data["strata.yaml"], "/etc/strata/registry-ca/ca.crt", filepath.Join(dir, "ca.crt"))),
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"HOME=" + dir}
	for _, e := range deploy.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "DOCKER_CONFIG" {
			env = append(env, "DOCKER_CONFIG="+dockerDir) // the Secret's mount, here
		}
	}
	if len(env) != 2 {
		t.Fatalf("the chart's Deployment sets no DOCKER_CONFIG for registry.credentialsSecret: %+v", deploy.Spec.Template.Spec.Containers[0].Env)
	}
	strata := func(args ...string) (string, int) {
		cmd := exec.CommandContext(ctx, s.strataBin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("strata %v: %v", args, err)
		}
		return string(out), code
	}

	config := filepath.Join(dir, "strata.yaml")
	if out, code := strata("config", "validate", "-f", config); code != 0 || !strings.Contains(out, "0 error(s)") || !strings.Contains(out, "1 catalog image(s) loaded") {
		t.Errorf("strata config validate of the chart's configuration = exit %d:\n%s\nwant no error and the catalog loaded from the private registry", code, out)
	}
	pods := filepath.Join(dir, "pods.yaml")
	podsYAML := podYAML("approved", s.priv.ref("corp/apps/approved:1")) + "---\n" + podYAML("rogue", s.priv.ref("corp/apps/rogue:1"))
	if err := os.WriteFile(pods, []byte(podsYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := strata("check", "--config", config, "--mode", "enforce", "-n", "team-a", "-f", pods)
	if code != 1 || !strings.Contains(out, "✓ allow Pod team-a/approved") || !strings.Contains(out, "✗ deny Pod team-a/rogue") || !strings.Contains(out, "[approved-base]") {
		t.Errorf("strata check of an approved and a rogue pod = exit %d:\n%s\nwant approved allowed, rogue denied by approved-base", code, out)
	}

	misspelt := filepath.Join(dir, "misspelt.yaml")
	if err := os.WriteFile(misspelt, append([]byte(cm.Data["strata.yaml"]), []byte("\ncatalg:\n  refresh: 1h\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := strata("config", "validate", "--offline", "-f", misspelt); code != 1 || !strings.Contains(out, "catalg (line") || !strings.Contains(out, "did you mean catalog?") {
		t.Errorf("strata config validate of a misspelt key = exit %d:\n%s\nwant it named, with the key it meant", code, out)
	}
}
