package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook"
)

// docs/notifications.md: --notify overrides notify.url, and with neither
// strata notifies nothing.
func TestNotifyFlagOverridesTheConfiguredURL(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := newNotifier(webhook.NotifyConfig{URL: "https://from-config.example/hooks"}, "https://from-flag.example/hooks", nil, logger)
	if err != nil || n == nil || !strings.Contains(n.Target(), "from-flag.example") {
		t.Errorf("newNotifier(notify.url and --notify) = %v, %v; want the notifier of --notify's URL", n, err)
	}
	if n, err := newNotifier(webhook.NotifyConfig{}, "", nil, logger); n != nil || err != nil {
		t.Errorf("newNotifier(no URL) = %v, %v; want no notifier", n, err)
	}
}
