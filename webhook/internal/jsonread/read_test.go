package jsonread

import (
	"strconv"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// readString is String on doc, a JSON value, starting from want's old
// value "old".
func readString(doc string) (string, error) {
	s := "old"
	err := Decode([]byte(doc), func(d *jsontext.Decoder) error { return String(d, &s) })
	return s, err
}

// A string is read as written whether or not it is one of wellKnown, and
// whatever its spelling (escapes, characters outside ASCII); null leaves
// the old value; anything else is refused.
func TestWellKnownStringsAreReadAsWritten(t *testing.T) {
	t.Parallel()
	for doc, want := range map[string]string{
		`"Pod"`:                      "Pod",
		`"\u0050od"`:                 "Pod",
		`"admission.k8s.io/v1"`:      "admission.k8s.io/v1",
		`"admission.k8s.io/v1beta1"`: "admission.k8s.io/v1beta1",
		`"Pods"`:                     "Pods",
		`""`:                         "",
		`"shop"`:                     "shop",
		`"a\"b\\c\nd"`:               "a\"b\\c\nd",
		`"été"`:                      "été",
		`"\u00e9t\u00e9"`:            "été",
		`null`:                       "old",
	} {
		if got, err := readString(doc); err != nil || got != want {
			t.Errorf("String(%s) = %q, %v; want %q", doc, got, err, want)
		}
	}
	for _, doc := range []string{`1`, `{}`, `["Pod"]`, `true`, `"unterminated`, "\"\xff\""} {
		if got, err := readString(doc); err == nil {
			t.Errorf("String(%s) = %q, nil; want an error", doc, got)
		}
	}
	for key, s := range wellKnown {
		if key != strconv.Quote(s) || len(key) > maxWellKnownBytes {
			t.Errorf("wellKnown[%s] = %q: want the key its quoted form, at most %d bytes", key, s, maxWellKnownBytes)
		}
	}
}

// A review repeats its well-known strings in every admission: reading one
// allocates nothing.
func TestWellKnownStringsAreNotAllocated(t *testing.T) {
	raw := []byte(`"system:authenticated"`)
	var s string
	read := func(d *jsontext.Decoder) error { return String(d, &s) }
	Decode(raw, read) // the pool's decoder, made once
	if n := testing.AllocsPerRun(100, func() { _ = Decode(raw, read) }); n != 0 {
		t.Errorf("reading %s: %.0f allocations, want 0", raw, n)
	}
}
