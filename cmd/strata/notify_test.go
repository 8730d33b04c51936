package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook"
)

// The HMAC key comes from notify.secretFile without the newline a Secret
// made with echo or --from-file ends in, else from STRATA_NOTIFY_SECRET;
// neither the key nor the URL's query reaches the start log line.
func TestNotifySecretIsReadWithoutItsNewlineAndNeverLogged(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(file, []byte("k3y-SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := secretFrom("notify.secretFile", file, envNotifySecret)
	if err != nil || got != "k3y-SECRET" {
		t.Errorf("secretFrom(file holding %q) = %q, %v; want the key without the newline", "k3y-SECRET\n", got, err)
	}
	t.Setenv(envNotifySecret, "env-SECRET")
	if got, err := secretFrom("notify.secretFile", "", envNotifySecret); err != nil || got != "env-SECRET" {
		t.Errorf("secretFrom(no file, %s set) = %q, %v; want the variable's value", envNotifySecret, got, err)
	}
	var logs strings.Builder
	n, err := newNotifier(webhook.NotifyConfig{URL: "https://gitlab.example.com/api/v4/projects/9/ref/main/trigger/pipeline?token=glptt-SECRET", SecretFile: file}, "", nil, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil || n == nil {
		t.Fatalf("newNotifier = %v, %v", n, err)
	}
	if strings.Contains(logs.String(), "SECRET") || !strings.Contains(logs.String(), `"signed":true`) {
		t.Errorf("start log = %s, want it signed and no secret or token", logs.String())
	}
}

// The github format without a token would be refused by GitHub on every
// move: strata refuses it at start instead.
func TestNotifyGitHubFormatWithoutATokenIsRefusedAtStart(t *testing.T) {
	t.Setenv(envNotifyToken, "")
	_, err := newNotifier(webhook.NotifyConfig{Format: "github"}, "https://api.github.com/repos/o/r/dispatches", nil, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), envNotifyToken) {
		t.Errorf("newNotifier(github, no token) = %v, want an error naming %s", err, envNotifyToken)
	}
}

// A key file named by notify.secretFile or notify.tokenFile that cannot be
// read, or holds nothing but a newline, stops serve at start: an unsigned
// or unauthenticated event is never sent in its place.
func TestNotifyKeyFileUnreadableOrEmptyStopsStart(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, cfg := range []webhook.NotifyConfig{
		{SecretFile: missing}, {SecretFile: empty}, {TokenFile: missing}, {TokenFile: empty},
	} {
		if _, err := newNotifier(cfg, "https://ci.example.com/hooks/strata", nil, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("newNotifier(%+v) = nil error, want serve stopped at start", cfg)
		}
	}
}
