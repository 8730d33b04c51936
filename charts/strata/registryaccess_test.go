package strata_test

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// strata's own registry access in a cluster: registry.credentialsSecret is
// mounted as its docker config (DOCKER_CONFIG), registry.caBundle as the
// registry.caFile strata.yaml names, and extraEnv/extraVolumes/
// extraVolumeMounts are added, in the webhook and the audit alike; naming
// both a ConfigMap and a Secret for the CA is refused.
func TestRegistryAccessValuesReachWebhookAndAudit(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "registry.credentialsSecret=corp-creds", "--set", "registry.caBundle.secret=corp-ca", "--set", "registry.caBundle.key=root.pem",
		"--set", "extraEnv[0].name=HTTPS_PROXY", "--set", "extraEnv[0].value=http://proxy:3128",
		"--set", "extraVolumes[0].name=extra", "--set", "extraVolumes[0].emptyDir.medium=Memory",
		"--set", "extraVolumeMounts[0].name=extra", "--set", "extraVolumeMounts[0].mountPath=/extra",
		"--set", "audit.enabled=true")
	raw, cfg := r.strataConfig()
	if reg, _ := cfg["registry"].(map[string]any); reg["caFile"] != "/etc/strata/registry-ca/ca.crt" {
		t.Errorf("strata.yaml registry = %v, want caFile /etc/strata/registry-ca/ca.crt\n%s", cfg["registry"], raw)
	}
	var cj batchv1.CronJob
	r.one("CronJob", &cj)
	d := r.deployment()
	for name, spec := range map[string]corev1.PodSpec{"Deployment": d.Spec.Template.Spec, "audit CronJob": cj.Spec.JobTemplate.Spec.Template.Spec} {
		c := spec.Containers[0]
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		if env["DOCKER_CONFIG"] != "/etc/strata/docker" || env["HTTPS_PROXY"] != "http://proxy:3128" {
			t.Errorf("%s env = %v, want DOCKER_CONFIG and HTTPS_PROXY", name, c.Env)
		}
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = m.MountPath
		}
		if mounts["registry-credentials"] != "/etc/strata/docker" || mounts["registry-ca"] != "/etc/strata/registry-ca" || mounts["extra"] != "/extra" {
			t.Errorf("%s mounts = %v", name, mounts)
		}
		var creds, ca, extra *corev1.Volume
		for i := range spec.Volumes {
			switch v := &spec.Volumes[i]; v.Name {
			case "registry-credentials":
				creds = v
			case "registry-ca":
				ca = v
			case "extra":
				extra = v
			}
		}
		if creds == nil || creds.Secret == nil || creds.Secret.SecretName != "corp-creds" || !slices.Equal(creds.Secret.Items, []corev1.KeyToPath{{Key: ".dockerconfigjson", Path: "config.json"}}) {
			t.Errorf("%s registry-credentials volume = %+v", name, creds)
		}
		if ca == nil || ca.Secret == nil || ca.Secret.SecretName != "corp-ca" || !slices.Equal(ca.Secret.Items, []corev1.KeyToPath{{Key: "root.pem", Path: "ca.crt"}}) {
			t.Errorf("%s registry-ca volume = %+v", name, ca)
		}
		if extra == nil || extra.EmptyDir == nil {
			t.Errorf("%s extra volume = %+v", name, extra)
		}
	}
	if _, err := renderErr(t, "--set", "registry.caBundle.configMap=a", "--set", "registry.caBundle.secret=b"); err == nil {
		t.Error("registry.caBundle naming both a ConfigMap and a Secret rendered, want it refused")
	}
	// Without them nothing is added.
	plain := r.docs["Deployment"][0]
	if d := render(t).docs["Deployment"][0]; strings.Contains(string(d), "DOCKER_CONFIG") || strings.Contains(string(d), "registry-ca") || len(d) >= len(plain) {
		t.Errorf("the default Deployment mounts registry access it was not given:\n%s", d)
	}
}
