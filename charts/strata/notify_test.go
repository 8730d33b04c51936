package strata_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// notify.url and notify.secret become strata.yaml's notify block and a
// read-only mount of the Secret's keys, the keys and the URL never in
// the args; the receiver's CIDRs are reachable once egress is restricted.
// Off by default: no notify block, no mount.
func TestNotifyValuesReachStrataYAMLAndTheSecretIsMounted(t *testing.T) {
	t.Parallel()
	if _, cfg := render(t).strataConfig(); cfg["notify"] != nil {
		t.Errorf("strata.yaml notify by default = %v, want none", cfg["notify"])
	}
	url := "https://gitlab.example.com/api/v4/projects/9/ref/main/trigger/pipeline?token=glptt-x"
	r := render(t, "--set-string", "notify.url="+url, "--set", "notify.secret=ci-hook", "--set", "notify.tokenKey=token",
		"--set", "networkPolicy.registryCIDRs={10.0.0.0/8}", "--set", "notify.cidrs={192.0.2.0/24}")
	_, cfg := r.strataConfig()
	want := map[string]any{"url": url, "format": "generic", "secretFile": "/etc/strata/notify/hmac", "tokenFile": "/etc/strata/notify/token"}
	got, _ := cfg["notify"].(map[string]any)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("strata.yaml notify.%s = %v, want %v", k, got[k], v)
		}
	}
	d := r.deployment()
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == "notify" && m.ReadOnly && m.MountPath == "/etc/strata/notify"
	}) {
		t.Errorf("volume mounts = %+v, want notify read-only at /etc/strata/notify", c.VolumeMounts)
	}
	if strings.Contains(strings.Join(c.Args, " "), "token") {
		t.Errorf("args = %v, want no URL or token on the command line", c.Args)
	}
	var vol []string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "notify" && v.Secret != nil && v.Secret.SecretName == "ci-hook" {
			for _, it := range v.Secret.Items {
				vol = append(vol, it.Key+"→"+it.Path)
			}
		}
	}
	if strings.Join(vol, " ") != "hmac→hmac token→token" {
		t.Errorf("notify volume items = %v, want hmac→hmac token→token", vol)
	}
	var np networkingv1.NetworkPolicy
	for _, doc := range r.docs["NetworkPolicy"] {
		if err := yaml.UnmarshalStrict(doc, &np); err != nil {
			t.Fatal(err)
		}
	}
	if got := networkPolicyEgress(np)[443]; !slices.Contains(got, "192.0.2.0/24") {
		t.Errorf("egress on 443 = %v, want the receiver's 192.0.2.0/24", got)
	}
}

// The example PrometheusRule is off by default; on, it alerts on
// strata_stale_images for metrics.prometheusRule.for, naming the base.
func TestPrometheusRuleAlertsOnStaleImages(t *testing.T) {
	t.Parallel()
	if n := render(t).count("PrometheusRule"); n != 0 {
		t.Errorf("%d PrometheusRules by default, want none", n)
	}
	var rule struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string            `json:"name"`
			Namespace string            `json:"namespace"`
			Labels    map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Alert       string            `json:"alert"`
					Expr        string            `json:"expr"`
					For         string            `json:"for"`
					Labels      map[string]string `json:"labels"`
					Annotations map[string]string `json:"annotations"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	render(t, "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.for=2h", "--set", "metrics.prometheusRule.labels.release=kps").one("PrometheusRule", &rule)
	r := rule.Spec.Groups[0].Rules[0]
	if !strings.Contains(r.Expr, "strata_stale_images") || r.For != "2h" || rule.Metadata.Labels["release"] != "kps" || !strings.Contains(r.Annotations["summary"], "{{ $labels.base }}") {
		t.Errorf("PrometheusRule = %+v, want an alert on strata_stale_images for 2h, labelled release=kps, naming the base", rule)
	}
}

// GitHub's API needs a token: format github without one is refused.
func TestNotifyGitHubWithoutATokenIsRefused(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--set", "notify.url=https://api.github.com/repos/o/r/dispatches", "--set", "notify.format=github"},
		{"--set", "notify.url=ci.example.com/hook"},
		{"--set", "notify.format=jenkins"},
	} {
		if _, err := renderErr(t, args...); err == nil || !strings.Contains(err.Error(), "schema") {
			t.Errorf("helm template %v: err = %v, want the schema to refuse it", args, err)
		}
	}
}
