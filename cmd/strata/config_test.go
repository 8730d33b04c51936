package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/strata-project/strata/internal/testutil"
)

// config validate names each error by key and line and exits 1; a file
// that only has warnings exits 0, or 1 with --strict.
func TestConfigValidate(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/base/debian:12.7")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	typos := testutil.WriteFile(t, dir, "typos.yaml", "mode: enforce\nregistry:\n  timout: 3s\n")
	warnings := testutil.WriteFile(t, dir, "warnings.yaml", fmt.Sprintf(`registry:
  insecure: [%[1]s]
policies:
  data:
    approvedBase: ["%[1]s/base/*"]
catalog:
  images:
    - {ref: "%[1]s/base/debian:12*", role: os}
    - {ref: "%[1]s/base/debian:13*", role: os}
    - {ref: "%[1]s/base/missing:1", role: runtime}
`, host))
	for _, tc := range []struct {
		args     []string
		wantCode int
		want     []string
	}{
		{[]string{"-f", typos}, 1, []string{"typos.yaml: error: registry.timout (line 3): unknown key; did you mean timeout?", "1 error(s), 0 warning(s)"}},
		{[]string{"-f", warnings}, 0, []string{
			"warning: policies.data.approvedBase (line 5): no loaded policy reads data.strata.config.approvedBase; did you mean approvedBases?",
			"warning: policy approved-base is on but inactive",
			"warning: catalog image " + host + "/base/debian:13*: the pattern matches none of the 1 tags of",
			"warning: catalog image " + host + "/base/missing:1: " + host + " has no image", // the registry's reason
			"0 error(s), 4 warning(s), 1 catalog image(s) loaded",
		}},
		{[]string{"-f", warnings, "--strict"}, 1, []string{"0 error(s), 4 warning(s)"}},
		{[]string{"-f", dir + "/missing.yaml"}, 2, nil},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), append([]string{"config", "validate"}, tc.args...), &stdout, &stderr)
		if code != tc.wantCode {
			t.Errorf("config validate %v = exit %d, want %d; stdout:\n%s\nstderr:\n%s", tc.args, code, tc.wantCode, stdout.String(), stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("config validate %v printed:\n%s\nwant a line holding %q", tc.args, stdout.String(), w)
			}
		}
	}
}

// docs/troubleshooting.md: a misspelt key keeps strata serve from starting,
// before it listens.
func TestServeRefusesAMisspeltKey(t *testing.T) {
	t.Parallel()
	code, _, stderr := runStrata(t, "serve", "--config", "../../examples/config/mistakes.yaml", "--addr", "127.0.0.1:0", "--health-addr", "127.0.0.1:0", "--dev")
	if code == 0 || !strings.Contains(stderr, `unknown field "timout"`) {
		t.Errorf("serve --config examples/config/mistakes.yaml = exit %d, stderr %q; want refused, naming timout", code, stderr)
	}
}
