package webhook

import (
	"errors"
	"fmt"

	"github.com/strata-project/strata/webhook/policy"
)

// ReadinessChecks are the pipeline's checks for /readyz (ServerOptions.Checks):
// the catalog has loaded, and a policy set has compiled.
func (p *Pipeline) ReadinessChecks() map[string]func() (string, error) {
	return map[string]func() (string, error){
		"catalog": func() (string, error) {
			if !p.Catalog.Ready() {
				return "", errors.New("the catalog has not loaded yet")
			}
			return fmt.Sprintf("%d images", p.Catalog.Len()), nil
		},
		"policies": func() (string, error) { return policyStatus(p.Engine.Status(), p.Engine.Policies()) },
	}
}

// policyStatus: after a failed reload the last good policies keep serving,
// so strata stays ready, but says so; so is a policy that is on but can
// report nothing (approved-base without approvedBases).
func policyStatus(st policy.Status, policies []policy.Meta) (string, error) {
	if st.Generation == 0 {
		return "", errors.New("no policy set has compiled")
	}
	detail := fmt.Sprintf("generation %d", st.Generation)
	if st.LastError != nil {
		detail += fmt.Sprintf(" serving; the last reload failed: %v", st.LastError)
	}
	for _, m := range policies {
		if m.Inactive != "" {
			detail += fmt.Sprintf("; inactive: %s (%s)", m.ID, m.Inactive)
		}
	}
	return detail, nil
}
