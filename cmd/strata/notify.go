package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/notify"
)

// The environment variables read for notify's secrets when strata.yaml
// names no file (a Kubernetes Secret as an env var, or a CI's own).
const (
	envNotifySecret = "STRATA_NOTIFY_SECRET"
	envNotifyToken  = "STRATA_NOTIFY_TOKEN"
)

// newNotifier builds the notifier of strata serve from notify: in
// strata.yaml and --notify (which wins), reading its secrets from their
// files or the environment; nil when no URL is set. Neither secret is ever
// logged: the start line says only whether the body is signed.
func newNotifier(cfg webhook.NotifyConfig, flagURL string, seen notify.Source, logger *slog.Logger) (*notify.Notifier, error) {
	if flagURL != "" {
		cfg.URL = flagURL
	}
	if cfg.URL == "" {
		return nil, nil
	}
	secret, err := secretFrom("notify.secretFile", cfg.SecretFile, envNotifySecret)
	if err != nil {
		return nil, err
	}
	token, err := secretFrom("notify.tokenFile", cfg.TokenFile, envNotifyToken)
	if err != nil {
		return nil, err
	}
	if cfg.Format == notify.FormatGitHub && token == "" {
		return nil, fmt.Errorf("notify.format github: GitHub's API needs a token; give notify.tokenFile or %s", envNotifyToken)
	}
	n, err := notify.New(notify.Options{URL: cfg.URL, Format: cfg.Format, Secret: []byte(secret), Token: token, Seen: seen, Logger: logger})
	if err != nil {
		return nil, err
	}
	logger.Info("notifying moved bases", "url", n.Target(), "format", cmp.Or(cfg.Format, notify.FormatGeneric), "signed", secret != "")
	return n, nil
}

// secretFrom reads a secret from file, or from the environment variable
// env when no file is named; a trailing newline (echo, kubectl create
// secret --from-file) is not part of it.
func secretFrom(key, file, env string) (string, error) {
	if file == "" {
		return os.Getenv(env), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s %s is empty", key, file)
	}
	return s, nil
}
