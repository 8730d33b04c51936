package main

import (
	"io"
	"log/slog"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/strata-project/strata/webhook"
)

// serveLogger is serve's JSON log on stdout, controller-runtime's included.
// It is written in batches: a write per decision line was a system call per
// admission. The decision and pin lines are written without reflection
// (webhook.LogHandler). Closing the LogWriter writes what it holds, on the way out.
func serveLogger(stdout io.Writer) (*slog.Logger, *webhook.LogWriter) {
	out := webhook.NewLogWriter(stdout, webhook.LogWriterOptions{})
	logger := slog.New(webhook.NewLogHandler(out))
	ctrllog.SetLogger(logr.FromSlogHandler(logger.Handler()))
	return logger, out
}
