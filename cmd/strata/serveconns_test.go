package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestServeRefusesConnectionLimitsBelowOne(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"--max-connections=0", "--health-max-connections=-1"} {
		var stderr strings.Builder
		// Were the flag accepted, strata would serve until this ends.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		code := run(ctx, []string{"serve", "--dev", flag}, &strings.Builder{}, &stderr)
		cancel()
		if code == 0 || !strings.Contains(stderr.String(), "must be at least 1") {
			t.Errorf("strata serve --dev %s = exit %d, stderr %q; want a failure naming the limit", flag, code, stderr.String())
		}
	}
}
