package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/strata-project/strata/policies"
)

// The keys of policies.data that some policy reads are known, so that a
// misspelt one (approvedBase) can be named; a policy that reads the whole
// object makes every key possible.
func TestDataKeysAreTheKeysThePoliciesRead(t *testing.T) {
	e := newUserEngine(t, map[string]string{"mine.rego": `package strata.policies.mine
# METADATA
# title: mine
violation contains {"msg": "x", "container": "c"} if data.strata.config.myKey == 1
`})
	keys, any := e.DataKeys()
	if want := []string{"approvedBases", "buildTools", "largeLayerBytes", "maxAppLayers", "maxAppSize", "maxDepth", "maxImageSize", "maxLayers", "myKey", "wastedLayerBytes"}; !reflect.DeepEqual(keys, want) || any {
		t.Errorf("DataKeys() = %v, %t; want %v, false", keys, any, want)
	}
	e = newUserEngine(t, map[string]string{"all.rego": `package strata.policies.all
# METADATA
# title: all
violation contains {"msg": k, "container": "c"} if some k, _ in data.strata.config
`})
	if _, any := e.DataKeys(); !any {
		t.Errorf("DataKeys() of a policy that walks data.strata.config: any = false, want true")
	}
}

// A user package strata never queries, and a policy without METADATA, were
// accepted in silence; they are named now. A library that a policy imports
// and a policy with METADATA are not.
func TestNotesNameWhatStrataWouldIgnoreInSilence(t *testing.T) {
	e := newUserEngine(t, map[string]string{
		"stray.rego":  "package mycompany.rules\n\ndeny contains \"x\" if input.container.name == \"c\"\n",
		"lib.rego":    "package mycompany.lib\n\nis_c(c) if c.name == \"c\"\n",
		"uses.rego":   "# METADATA\n# title: uses\npackage strata.policies.uses\n\nimport data.mycompany.lib\n\nviolation contains {\"msg\": \"x\", \"container\": \"c\"} if lib.is_c(input.container)\n",
		"nometa.rego": "package strata.policies.nometa\n\nviolation contains {\"msg\": \"x\", \"container\": \"c\"} if input.container.name == \"z\"\n",
	})
	notes := strings.Join(e.Notes(), "\n")
	for _, want := range []string{"stray.rego: package mycompany.rules is not under strata.policies", "nometa.rego: package strata.policies.nometa has no # METADATA block"} {
		if !strings.Contains(notes, want) {
			t.Errorf("Notes() = %q, want it to hold %q", notes, want)
		}
	}
	for _, unwanted := range []string{"lib.rego", "uses.rego", "builtin/"} {
		if strings.Contains(notes, unwanted) {
			t.Errorf("Notes() = %q, want nothing about %s", notes, unwanted)
		}
	}
}

func newUserEngine(t *testing.T, files map[string]string) *Engine {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(t.Context(), Options{Builtins: policies.FS, Paths: []string{dir}})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return e
}
