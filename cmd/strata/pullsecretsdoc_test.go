package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images"
)

// docs/security.md states serve's rate for pull-secret reads over all
// namespaces, ten namespaces' worth of PullSecrets' own bound.
func TestSecurityDocStatesThePullSecretRates(t *testing.T) {
	t.Parallel()
	doc := strings.Join(strings.Fields(string(testutil.ReadFile(t, "../../docs/security.md"))), " ")
	if want := fmt.Sprintf("under serve's %d per second for all", pullSecretsQPS); !strings.Contains(doc, want) || pullSecretsQPS != 10*images.DefaultNamespaceRate {
		t.Errorf("docs/security.md does not say %q, or %d is not ten namespaces at %d per second", want, pullSecretsQPS, images.DefaultNamespaceRate)
	}
}
