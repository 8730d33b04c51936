package policy

import (
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
	wantNotes(t, e,
		[]string{"stray.rego: package mycompany.rules is not under strata.policies", "nometa.rego: package strata.policies.nometa has no # METADATA block"},
		[]string{"lib.rego", "uses.rego", "builtin/"})
}

// wantNotes checks that e's notes hold each of want and say nothing about
// any of unwanted.
func wantNotes(t *testing.T, e *Engine, want, unwanted []string) {
	t.Helper()
	notes := strings.Join(e.Notes(), "\n")
	for _, w := range want {
		if !strings.Contains(notes, w) {
			t.Errorf("Notes() = %q, want it to hold %q", notes, w)
		}
	}
	for _, u := range unwanted {
		if strings.Contains(notes, u) {
			t.Errorf("Notes() = %q, want nothing about %s", notes, u)
		}
	}
}

func newUserEngine(t *testing.T, files map[string]string) *Engine {
	t.Helper()
	return engineOver(t, Options{Builtins: policies.FS}, files)
}

// A violation without msg denied (or warned) with an empty reason, and
// nothing said so before a pod met it; config validate names it now, and a
// violation that still lacks one at evaluation says which policy to fix
// instead of being dropped, which would be an allow.
func TestViolationsWithoutMsgAreNamed(t *testing.T) {
	e := newUserEngine(t, map[string]string{
		"nomsg.rego":  "# METADATA\n# title: nomsg\npackage strata.policies.nomsg\n\nviolation contains {\"message\": \"x\", \"container\": \"c\"} if input.container.name == \"web\"\n",
		"bound.rego":  "# METADATA\n# title: bound\npackage strata.policies.bound\n\nviolation contains v if {\n\tinput.container.name == \"web\"\n\tv := {\"reason\": \"y\"}\n}\n",
		"string.rego": "# METADATA\n# title: string\npackage strata.policies.str\n\nviolation contains \"root\" if input.container.name == \"nobody\"\n",
		"good.rego":   "# METADATA\n# title: good\npackage strata.policies.good\n\nviolation contains v if {\n\tinput.container.name == \"nobody\"\n\tv := {\"msg\": \"fine\"}\n}\n",
	})
	wantNotes(t, e, []string{
		"nomsg.rego:5: policy strata.policies.nomsg: a violation without \"msg\"",
		"bound.rego:5: policy strata.policies.bound: a violation without \"msg\"",
		"string.rego:5: policy strata.policies.str: a violation that is not an object",
	}, []string{"good.rego"})
	vs := e.Evaluate(t.Context(), "web", "", InputOf(mustInput(t, `{"container": {"name": "web"}, "image": {}}`)))
	var nomsg *Violation
	for i := range vs {
		if vs[i].Policy == "nomsg" {
			nomsg = &vs[i]
		}
	}
	if nomsg == nil {
		t.Fatalf("Evaluate() = %+v, want the nomsg policy's violation kept", vs)
	}
	if !strings.Contains(nomsg.Msg, "nomsg") || !strings.Contains(nomsg.Msg, "msg") {
		t.Errorf("violation without msg reads %q, want it to name the policy and the missing msg", nomsg.Msg)
	}
}
