// Package policy is strata's OPA engine: it loads the built-in and the
// user's Rego policies, compiles them once, evaluates them on parsed input,
// and swaps them atomically when the user's files change.
package policy

import "fmt"

// Action is what a violation does.
type Action string

// Actions, strongest first.
const (
	Enforce Action = "enforce" // deny
	Warn    Action = "warn"    // allow, with a kubectl warning
	Audit   Action = "audit"   // allow; record in logs, metrics, audit annotations
	Off     Action = "off"     // not evaluated
)

var rank = map[Action]int{Off: 0, Audit: 1, Warn: 2, Enforce: 3}

// ParseAction accepts enforce, warn, audit and off.
func ParseAction(s string) (Action, error) {
	a := Action(s)
	if _, ok := rank[a]; !ok {
		return "", fmt.Errorf("action %q: want enforce, warn, audit or off", s)
	}
	return a, nil
}

// Milder returns the milder of two actions. A request's mode and a policy's
// own action combine this way: an audit namespace never denies, and a
// policy whose action is warn only warns, even where the mode is enforce.
//
// An action that is none of the four (New refuses them in configuration,
// but an Action is a string any caller can build) counts as enforce, so
// that a typo can never rank below off and drop a violation.
func Milder(a, b Action) Action {
	if strength(a) <= strength(b) {
		return known(a)
	}
	return known(b)
}

func strength(a Action) int {
	if r, ok := rank[a]; ok {
		return r
	}
	return rank[Enforce]
}

func known(a Action) Action {
	if _, ok := rank[a]; ok {
		return a
	}
	return Enforce
}
