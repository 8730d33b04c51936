package policy

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/strata-project/strata/policies"
)

// An action that is not one of enforce, warn, audit, off ranked below off
// and so dropped the violation: a typo in policies.actions turned a policy
// off in enforce mode.
func TestUnknownActionInOptionsIsRefused(t *testing.T) {
	t.Parallel()
	_, err := New(t.Context(), Options{
		Builtins: fstest.MapFS{"no_root.rego": {Data: []byte(rootPolicy)}},
		Actions:  map[string]Action{"no-root": "deny"},
	})
	if err == nil || !strings.Contains(err.Error(), "no-root") || !strings.Contains(err.Error(), `"deny"`) {
		t.Fatalf("New(actions: {no-root: deny}) = %v, want an error naming the policy and the action", err)
	}
	_, err = New(t.Context(), Options{
		Builtins: fstest.MapFS{"no_root.rego": {Data: []byte(rootPolicy)}},
		Actions:  map[string]Action{PolicyError: "Enforce"},
	})
	if err == nil || !strings.Contains(err.Error(), PolicyError) {
		t.Fatalf("New(actions: {policy-error: Enforce}) = %v, want an error naming policy-error", err)
	}
}

// An unknown action reaching Milder must not rank below off: whatever does
// not say otherwise enforces.
func TestUnknownActionIsNotMilderThanOff(t *testing.T) {
	t.Parallel()
	for _, a := range []Action{"", "deny", "Enforce"} {
		if got := Milder(Enforce, a); got != Enforce {
			t.Errorf("Milder(enforce, %q) = %q, want enforce", a, got)
		}
		if got := Milder(a, Warn); got != Warn {
			t.Errorf("Milder(%q, warn) = %q, want warn", a, got)
		}
	}
}

const clockPolicy = `package strata.policies.clock

violation contains {"msg": sprintf("at %d", [time.now_ns()]), "container": input.container.name, "platform": ""} if true
`

// A policy that reads the clock, a random number or a fresh UUID gives a
// different answer for the same input: serving it from the cache freezes
// the first answer (an allow during a maintenance window stays an allow).
func TestNondeterministicPolicyIsNeverServedFromTheCache(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"time.now_ns": clockPolicy,
		"rand.intn": `package strata.policies.dice

violation contains {"msg": sprintf("%d", [rand.intn(input.container.name, 1000000000)]), "container": "", "platform": ""} if true
`,
		"uuid.rfc4122 in a helper": `package strata.policies.ids

id(x) := uuid.rfc4122(x)

violation contains {"msg": id(input.container.name), "container": "", "platform": ""} if true
`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := engineOver(t, Options{}, map[string]string{"p.rego": src})
			in := mustInput(t, rootInput)
			e.Evaluate(t.Context(), "web", "", InputOf(in))
			if _, hit := cached(e, in); hit {
				t.Errorf("after Evaluate with a policy calling %s, the result cache holds the input, want never cached", name)
			}
		})
	}
	// The built-ins are pure and stay cached.
	e := newEngine(t, Options{Builtins: fstest.MapFS{"no_root.rego": {Data: []byte(rootPolicy)}}})
	in := mustInput(t, rootInput)
	e.Evaluate(t.Context(), "web", "", InputOf(in))
	if _, hit := cached(e, in); !hit {
		t.Error("a pure policy's result was not cached")
	}
}

// Pod UPDATEs that change no container are not evaluated; that is right
// only when no policy reads the workload's labels and annotations or the
// request, which an update can change.
func TestPolicyReadingLabelsOrRequestIsNotContainerOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{rootPolicy, true},
		{warnPolicy, false},
		{"package strata.policies.op\n\nviolation contains {\"msg\": \"x\", \"container\": \"\", \"platform\": \"\"} if input.request.operation == \"UPDATE\"\n", false},
		{"package strata.policies.all\n\nviolation contains {\"msg\": json.marshal(input), \"container\": \"\", \"platform\": \"\"} if true\n", false},
		{"package strata.policies.kind\n\nviolation contains {\"msg\": \"x\", \"container\": \"\", \"platform\": \"\"} if input.workload.kind == \"Pod\"\n", true},
	} {
		e := engineOver(t, Options{}, map[string]string{"p.rego": tc.src})
		if got := e.ReadsOnlyContainerFacts(); got != tc.want {
			t.Errorf("ReadsOnlyContainerFacts() with %q = %v, want %v", tc.src, got, tc.want)
		}
	}
}

// A policy that requires a data key which is empty reports nothing; the
// engine says so rather than let it pass for a policy that found nothing.
func TestPolicyWithEmptyRequiredDataIsInactive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		data    map[string]any
		actions map[string]Action
		want    string // a part of Inactive; "" for active
	}{
		{"approvedBases missing", nil, nil, "approvedBases is empty"},
		{"approvedBases empty", map[string]any{"approvedBases": []any{}}, nil, "approvedBases is empty"},
		{"approvedBases set", map[string]any{"approvedBases": []any{"registry.example.com/base/*"}}, nil, ""},
		{"off is not inactive", nil, map[string]Action{"approved-base": Off}, ""},
	} {
		e := newEngine(t, Options{Builtins: policies.FS, Data: tc.data, Actions: tc.actions})
		for _, m := range e.Policies() {
			want := ""
			if m.ID == "approved-base" {
				want = tc.want
			}
			if (m.Inactive == "") != (want == "") || !strings.Contains(m.Inactive, want) {
				t.Errorf("%s: Policies()[%s].Inactive = %q, want %q", tc.name, m.ID, m.Inactive, want)
			}
		}
	}
	dir := policyDir(t, map[string]string{"p.rego": "# METADATA\n# custom:\n#   requires: approvedBases\npackage strata.policies.p\n"})
	if _, err := New(t.Context(), Options{Paths: []string{dir}}); err == nil || !strings.Contains(err.Error(), "custom.requires") {
		t.Errorf("New with custom.requires not a list = %v, want an error naming custom.requires", err)
	}
}
