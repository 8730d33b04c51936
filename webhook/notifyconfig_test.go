package webhook

import (
	"strings"
	"testing"
)

// notify: is a known block of strata.yaml: config validate names a
// misspelt key inside it, and Validate refuses a URL that is not http(s)
// and an unknown format without repeating the URL (a trigger URL carries a
// token).
func TestNotifyConfigIsValidatedWithoutRepeatingTheURL(t *testing.T) {
	raw := "notify:\n  url: https://ci.example.com/hook\n  format: github\n  secretFile: /etc/strata/notify/hmac\n  tokenFile: /etc/strata/notify/token\n"
	if got := LintConfig([]byte(raw), readKeys{}); len(got) != 0 {
		t.Errorf("LintConfig(a valid notify block) = %v, want nothing", got)
	}
	cfg, err := ParseConfig([]byte(raw))
	if err != nil || cfg.Validate() != nil || cfg.Notify.Format != "github" {
		t.Errorf("ParseConfig + Validate(a valid notify block) = %+v, %v, %v", cfg.Notify, err, cfg.Validate())
	}
	if got := LintConfig([]byte("notify:\n  secretFlie: x\n"), readKeys{}); len(got) != 1 || !strings.Contains(got[0].String(), "did you mean secretFile?") {
		t.Errorf("LintConfig(notify.secretFlie) = %v, want it named with secretFile", got)
	}
	for _, bad := range []NotifyConfig{{URL: "ftp://ci.example.com/x?token=SECRET"}, {URL: "ci.example.com?token=SECRET"}, {URL: "https://ci.example.com", Format: "jenkins"}} {
		cfg := DefaultConfig()
		cfg.Notify = bad
		err := cfg.Validate()
		if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "notify.") {
			t.Errorf("Validate(notify %+v) = %v, want a notify error without the URL's token", bad, err)
		}
	}
}
