package load

import (
	"testing"
	"time"
)

// TestRunDefaultsAreWhatTheBenchReadmeStates: test/bench/README.md says a
// run lasts 10s unless -n is given (then at most 1h), each request times
// out after 10s. The run tests set their own, so the numbers are asserted
// here.
func TestRunDefaultsAreWhatTheBenchReadmeStates(t *testing.T) {
	t.Parallel()
	base := Options{URL: "https://127.0.0.1:8443/validate/warn", Body: []byte(`{}`)}
	byTime, err := withDefaults(base)
	if err != nil {
		t.Fatal(err)
	}
	counted := base
	counted.Requests = 100
	byCount, err := withDefaults(counted)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		what      string
		got, want any
	}{
		{"-duration without -n", byTime.Duration, 10 * time.Second},
		{"-duration with -n", byCount.Duration, time.Hour},
		{"-timeout", byTime.Timeout, 10 * time.Second},
	} {
		if d.got != d.want {
			t.Errorf("%s defaults to %v, test/bench/README.md states %v", d.what, d.got, d.want)
		}
	}
}
