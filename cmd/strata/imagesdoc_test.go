package main

import (
	"io"
	"log/slog"
	"testing"
)

// docs/images.md: strata's own commands log nothing below info, so none of
// them prints the resolver's debug lines (a registry's withheld error
// body): serve's log starts at info, the others' at warn or error.
func TestServeLogsNothingBelowInfo(t *testing.T) {
	logger, out := serveLogger(io.Discard)
	defer out.Close()
	if logger.Enabled(t.Context(), slog.LevelDebug) || !logger.Enabled(t.Context(), slog.LevelInfo) {
		t.Errorf("serve's logger: debug enabled %v, info enabled %v; docs/images.md says info and above only",
			logger.Enabled(t.Context(), slog.LevelDebug), logger.Enabled(t.Context(), slog.LevelInfo))
	}
}
