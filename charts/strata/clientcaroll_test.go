package strata_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/mtls.md says the client CA is read once at start and the chart rolls
// the pods when webhook.clientAuth.caBundle changes: the pod template's
// checksum of the client CA ConfigMap must differ between two CAs, and stay
// the same for the same CA.
func TestChangedClientCARollsThePods(t *testing.T) {
	t.Parallel()
	ca, err := os.ReadFile("testdata/client-ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	// Another CA: the same PEM block with its first base64 line changed;
	// the chart checks the PEM armour only.
	lines := strings.Split(string(ca), "\n")
	lines[1] = strings.Repeat("A", len(lines[1]))
	other := filepath.Join(t.TempDir(), "other-ca.crt")
	if err := os.WriteFile(other, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	checksum := func(file string) string {
		d := render(t, "--set", "webhook.clientAuth.enabled=true", "--set-file", "webhook.clientAuth.caBundle="+file).deployment()
		sum := d.Spec.Template.Annotations["checksum/client-ca"]
		if sum == "" {
			t.Fatalf("the pod template has no checksum/client-ca annotation: %v", d.Spec.Template.Annotations)
		}
		return sum
	}
	first, again, changed := checksum("testdata/client-ca.crt"), checksum("testdata/client-ca.crt"), checksum(other)
	if first != again {
		t.Errorf("the same client CA renders checksums %s and %s: every upgrade would roll the pods", first, again)
	}
	if first == changed {
		t.Errorf("a changed client CA keeps the checksum %s: the pods would keep the CA they read at start", first)
	}
}
