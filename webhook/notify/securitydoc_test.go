package notify

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/lineage"
)

// docs/security.md class 20 states the delivery queue's length, that a
// full queue drops a move with a log line, and the delivery header: the
// Notifier's.
func TestSecurityDocStatesTheNotifiersQueueAndHeader(t *testing.T) {
	t.Parallel()
	n, err := New(Options{URL: "https://ci.example.com/hook"})
	if err != nil {
		t.Fatal(err)
	}
	testutil.DocStates(t, "../../docs/security.md",
		fmt.Sprintf("behind a queue of %d moves", n.opts.Queue),
		fmt.Sprintf("a delivery keeps its `%s` id across retries", HeaderDelivery),
	)
	// A full queue: nothing delivers, one move waits, the next is dropped.
	var logs bytes.Buffer
	n, err = New(Options{URL: "https://ci.example.com/hook", Queue: 1, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	n.Moved(lineage.Move{Tag: "registry.example.com/base/os:1"})
	n.Moved(lineage.Move{Tag: "registry.example.com/base/os:2"})
	if lines := strings.Split(strings.TrimSpace(logs.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "notification dropped") || !strings.Contains(lines[0], "base/os:2") {
		t.Errorf("two moves into a queue of one logged %q; want one line saying base/os:2 was dropped", logs.String())
	}
}
