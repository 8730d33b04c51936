package images

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
)

const registriesMd = "../../docs/registries.md"

// docs/registries.md's table "What the decisions say" gives the messages a
// cloud registry's image gets: each row is one strata prints (… for any
// text, as in docs/troubleshooting.md), and the other helpers' refusals
// say the same with their own cloud's names, as the page says.
func TestRegistriesMdDecisionsAreWhatStrataPrints(t *testing.T) {
	t.Parallel()
	const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	r := newTestResolver(t, newTestRegistry(t), Options{Cloud: CloudOptions{Helper: func(string) string { return "ecr" }}})
	at := func(kind Kind, provider string) *Error {
		e := &Error{Kind: kind, Image: host + "/team/app:1", Registry: host, Repository: "team/app"}
		if provider == "" {
			e.missingHelper = r.cloud.missingHelper(host)
		} else {
			e.Err = &CloudError{Provider: provider, Host: host, Err: errors.New("the cloud's own message")}
		}
		return e
	}
	printed := []string{at(KindUnauthorized, "").Error(), at(KindUnauthorized, "ecr").Error(), at(KindTimeout, "ecr").Error()}
	rows := testutil.DocTable(t, registriesMd, "What the decisions say:")[2:]
	if len(rows) != len(printed) {
		t.Fatalf("docs/registries.md lists %d decisions, want %d", len(rows), len(printed))
	}
	for i, cells := range rows {
		row := strings.Trim(cells[0], "`")
		if !rowPattern(row).MatchString(printed[i]) {
			t.Errorf("docs/registries.md lists %q; strata prints %q", row, printed[i])
		}
	}
	if !strings.Contains(testutil.DocProse(t, registriesMd), "Google's and Azure's say the same with their own identity to check") {
		t.Fatal("docs/registries.md no longer says how Google's and Azure's decisions read")
	}
	for provider, names := range cloudNames {
		want := fmt.Sprintf("%s refused strata's identity for %s: %s (the %s helper for %s: ", names.service, host, names.check, provider, host)
		if got := at(KindUnauthorized, provider).Error(); !strings.HasPrefix(got, want) {
			t.Errorf("the %s helper's refusal = %q, want the ECR row's shape: %q…", provider, got, want)
		}
	}
}

// docs/registries.md states when a cloud token is asked for again: the
// cloud keychain's defaults (TestCloudTokensAreRefreshedFiveMinutesEarlyAtMostHalfTheirLifetime
// holds the behaviour to them), and the results strata_registry_credentials_total
// counts.
func TestRegistriesMdStatesTheCloudTokenLifetimes(t *testing.T) {
	t.Parallel()
	o := newTestResolver(t, newTestRegistry(t), Options{}).cloud.opts
	doc := testutil.DocProse(t, registriesMd)
	results := "`" + strings.Join(CloudCredentialResults, "`, `") + "`"
	results = strings.Replace(results, "`issued`", "`issued` (the token API answered)", 1)
	for _, sentence := range []string{
		fmt.Sprintf("Tokens are cached per host until %d minutes before they expire (at most half their lifetime early; %d minutes when the token API gives no expiry)", o.RefreshBefore/time.Minute, o.UnknownLifetime/time.Minute),
		fmt.Sprintf("A failure is remembered for %d seconds, so a broken identity costs the token API one call per host per %d seconds", o.FailureTTL/time.Second, o.FailureTTL/time.Second),
		fmt.Sprintf("counts the lookups: %s (a failure answered again within its %d seconds)", results, o.FailureTTL/time.Second),
	} {
		if !strings.Contains(doc, sentence) {
			t.Errorf("docs/registries.md does not say %q, which the code makes true", sentence)
		}
	}
}
