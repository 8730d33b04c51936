//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// One tenant's pods cannot get another tenant's pods denied by naming
// pull secrets that do not exist. A pod may name 63, each a read of the
// API server that strata makes before it can resolve a private image;
// twenty such pods at once, on a budget shared by every namespace, would
// queue the reads of a namespace that did nothing past its registry
// budget, and its image would be an image-resolution violation, denied in
// enforce. Each namespace has a rate of its own: the flood is held to its
// namespace's, and the victim's two reads (its service account, its
// secret) are answered at once.
func TestOneNamespacesPullSecretFloodDoesNotDenyAnothersPod(t *testing.T) {
	showLogsOnFailure(t)
	const flooding, victim = "e2e-flood", "e2e-flood-victim"
	p := startEnforcing(t, "strata-flood", strataConfig(s), victim, flooding)
	out, err := kubectl(t, "", "create", "secret", "docker-registry", "regcred", "-n", victim,
		"--docker-server="+s.priv.addr, "--docker-username="+s.priv.user, "--docker-password="+s.priv.pass)
	mustAllow(t, "kubectl create secret docker-registry", out, err)

	// The test's own client must not be what holds the flood back.
	cfg := rest.CopyConfig(s.apiserver.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	create := func(ns, name string, pullSecrets ...string) error {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: s.images.private}}},
		}
		for _, n := range pullSecrets {
			pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
		}
		_, err := client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}

	var wg sync.WaitGroup
	floodErrs := make([]error, 20)
	for pod := range floodErrs {
		missing := make([]string, 63)
		for i := range missing {
			missing[i] = fmt.Sprintf("missing-%d-%d", pod, i)
		}
		wg.Go(func() { floodErrs[pod] = create(flooding, fmt.Sprintf("flood-%d", pod), missing...) })
	}
	// The flood reaches strata first; the victim's budget, not a timing,
	// is what the assertion below rests on.
	time.Sleep(300 * time.Millisecond)
	if err := create(victim, "bystander", "regcred"); err != nil {
		t.Errorf("a pod of %s with its one pull secret, while %s's 20 pods name 63 missing pull secrets each = %v; want it admitted", victim, flooding, err)
	}
	wg.Wait()

	if d, ok := p.loggedDecision("enforce", victim, "bystander"); !ok || d.Decision != "allowed" {
		t.Errorf("strata's decision on %s/bystander = %+v (logged %v), want allowed", victim, d, ok)
	}
	// The control: the flood did press on its own namespace's rate, or
	// the victim's admission proves nothing.
	held := 0
	for _, err := range floodErrs {
		if err != nil && strings.Contains(err.Error(), "[image-resolution]") {
			held++
		}
	}
	if held == 0 {
		t.Errorf("none of %s's 20 pods was denied [image-resolution]: the flood did not reach its namespace's rate (errors: %v)", flooding, floodErrs)
	}
}
