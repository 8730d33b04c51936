package testutil

// Holders are path and each path that holds it, as JSONFields names them:
// a[].b, a[] and a. A test that collects the fields a document names by
// their paths (docs/policy-input.md) counts the objects on the way too.
func Holders(path string) []string {
	var out []string
	for p := path; p != ""; p = up(p) {
		out = append(out, p)
	}
	return out
}
