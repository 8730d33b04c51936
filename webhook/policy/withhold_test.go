package policy

import (
	"strings"
	"testing"
)

func TestWithholdBuildArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`layer 2 (|2 NPM_TOKEN=tok REGION=eu /bin/sh -c rm -rf /x) is 1 B`, `layer 2 (|2 (build arguments withheld) /bin/sh -c rm -rf /x) is 1 B`},
		{`layer 2 (RUN |1 NPM_TOKEN=tok /bin/sh -c npm ci) is 1 B`, `layer 2 (RUN |1 (build arguments withheld) /bin/sh -c npm ci) is 1 B`},
		{`(|1 A=tok cmd /S /C del x)`, `(|1 (build arguments withheld) cmd /S /C del x)`},
		// A quote cut short within the arguments withholds to its end.
		{`layer 2 (|3 A=tok B=verylongtok…) is 1 B`, `layer 2 (|3 (build arguments withheld)) is 1 B`},
		{`step "|1 A=tok`, `step "|1 (build arguments withheld)`},
		// A value naming a shell does not end the arguments early.
		{`(|1 A=x /bin/sh -c tok /bin/sh -c ls)`, `(|1 (build arguments withheld) /bin/sh -c ls)`},
		{`no step here`, `no step here`},
		{`RUN /bin/sh -c apt-get install gcc`, `RUN /bin/sh -c apt-get install gcc`},
	} {
		if got := withholdBuildArgs(tc.in); got != tc.want {
			t.Errorf("withholdBuildArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(withholdBuildArgs(tc.in), "tok") && !strings.Contains(tc.in, "tok") {
			t.Errorf("withholdBuildArgs(%q) invented a token", tc.in)
		}
	}
}
