package main

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook"
)

// docs/notifications.md's strata.yaml is one strata loads, its comments
// name the environment variables strata reads a key from when no file is
// given, and the start line it quotes is what strata logs: the URL's
// scheme, host and path (no query), the format, whether events are signed.
func TestNotificationsMdConfigurationAndStartLine(t *testing.T) {
	doc := string(testutil.ReadFile(t, "../../docs/notifications.md"))
	block := regexp.MustCompile("(?s)```yaml\n# strata.yaml\n(.*?)```").FindStringSubmatch(doc)
	if block == nil {
		t.Fatal("docs/notifications.md shows no strata.yaml")
	}
	cfg, err := webhook.ParseConfig([]byte(block[1]))
	if err != nil || cfg.Validate() != nil {
		t.Fatalf("docs/notifications.md's strata.yaml: %v, %v", err, cfg.Validate())
	}
	if cfg.Notify.URL == "" || cfg.Notify.SecretFile == "" || cfg.Notify.TokenFile == "" {
		t.Errorf("docs/notifications.md's strata.yaml sets notify %+v, want the URL and both files", cfg.Notify)
	}
	for _, env := range []string{envNotifySecret, envNotifyToken} {
		if !strings.Contains(block[1], "unset: "+env) {
			t.Errorf("docs/notifications.md's strata.yaml does not name %s, the variable strata reads", env)
		}
	}

	prose := testutil.DocProse(t, "../../docs/notifications.md")
	msg := regexp.MustCompile("strata logs `([^`]+)` at start with the URL's scheme, host and path only, the format and whether events are signed").FindStringSubmatch(prose)
	if msg == nil {
		t.Fatal("docs/notifications.md no longer quotes the start line")
	}
	t.Setenv(envNotifySecret, "")
	var logs strings.Builder
	const url = "https://gitlab.example.com/api/v4/projects/9/ref/main/trigger/pipeline"
	if _, err := newNotifier(webhook.NotifyConfig{URL: url + "?token=glptt-SECRET"}, "", nil, slog.New(slog.NewJSONHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
		t.Fatalf("start log %q: %v", logs.String(), err)
	}
	if line["msg"] != msg[1] || line["url"] != url || line["format"] != "generic" || line["signed"] != false {
		t.Errorf("start line = %v; docs/notifications.md: %q with the URL without its query, the format, signed", line, msg[1])
	}
}

// docs/notifications.md: strata_stale_images also counts a base whose tag
// had moved before strata started. The demo's debian:12 and temurin:21 had
// (billing claims their old digests): the graph marks them stale,
// base-freshness warns, and the alert must not stay silent on them.
func TestNotificationsMdStaleImagesCountBasesMovedBeforeStrataStarted(t *testing.T) {
	prose := testutil.DocProse(t, "../../docs/notifications.md")
	if !strings.Contains(prose, "it also counts a base whose tag had already moved when strata started") {
		t.Fatal("docs/notifications.md no longer says which moves strata_stale_images counts")
	}
	s := startServe(t, "--dev", "--demo", "--graph")
	review(t, s.addr, "/validate/warn", "stale-base-pod.json")
	_, metrics := s.get(t, "/metrics")
	_, drawn := s.get(t, "/graph.json")
	if !strings.Contains(metrics, `strata_violations_total{action="warn",policy="base-freshness"}`) || !strings.Contains(drawn, `"stale": true`) {
		t.Fatalf("the stale-base pod: want a base-freshness warning and a stale base drawn; metrics:\n%s", grepLines(metrics, "strata_violations"))
	}
	for _, base := range []string{"base/debian:12", "base/temurin:21"} {
		if want := `strata_stale_images{base="strata-demo.local/` + base + `"} 1`; !strings.Contains(metrics, want) {
			t.Errorf("strata_stale_images for bases moved before strata started:\n%s\nwant %s", grepLines(metrics, "strata_stale_images"), want)
		}
	}
}

// grepLines are the lines of s that hold sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
