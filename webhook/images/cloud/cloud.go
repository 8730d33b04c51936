// Package cloud holds strata's registry credential helpers for the managed
// clouds' registries: ECR (AWS), Artifact Registry and Container Registry
// (Google) and ACR (Azure). Each reads strata's own cloud identity (IRSA or
// EKS Pod Identity, GKE Workload Identity, Azure workload identity) and is
// consulted by images.Resolver only for the hosts it owns.
package cloud

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/strata-project/strata/webhook/images"
)

// Names are the helpers registry.credentials may list, in the order they
// are documented.
var Names = []string{"ecr", "google", "azure"}

// Options configure the helpers; the zero value reads everything from the
// environment, as each cloud's SDK does in a pod.
type Options struct {
	// HTTPClient reaches the clouds' token APIs (STS and ECR, the metadata
	// server, Microsoft Entra ID). Default: each SDK's own.
	HTTPClient *http.Client
	// AzureDisableInstanceDiscovery skips Microsoft Entra's instance
	// discovery (asked of login.microsoftonline.com) for an authority host it
	// does not know: Azure Stack, or a stand-in in tests.
	AzureDisableInstanceDiscovery bool
}

// Providers returns the helpers named (registry.credentials), in that order.
func Providers(names []string, opts Options) ([]images.CloudProvider, error) {
	var out []images.CloudProvider
	for _, n := range names {
		switch n {
		case "ecr":
			out = append(out, NewECR(opts))
		case "google":
			out = append(out, NewGoogle(opts))
		case "azure":
			out = append(out, NewAzure(opts))
		default:
			return nil, fmt.Errorf("registry.credentials: unknown helper %q: want one of %s", n, strings.Join(Names, ", "))
		}
	}
	return out, nil
}

// Check returns the problems of a registry.credentials list, for Config.Validate.
func Check(names []string) []string {
	var problems []string
	for i, n := range names {
		switch {
		case !slices.Contains(Names, n):
			problems = append(problems, fmt.Sprintf("registry.credentials: unknown helper %q: want one of %s", n, strings.Join(Names, ", ")))
		case slices.Index(names, n) != i:
			problems = append(problems, fmt.Sprintf("registry.credentials: %q is listed twice", n))
		}
	}
	return problems
}

// Helper names the helper that owns host (no port), enabled or not, or "".
func Helper(host string) string {
	switch {
	case ownsECR(host):
		return "ecr"
	case ownsGoogle(host):
		return "google"
	case ownsAzure(host):
		return "azure"
	}
	return ""
}
