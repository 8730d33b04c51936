package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/internal/logtest"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/notify"
)

// statusReceiver answers every POST with status and keeps each attempt's
// delivery id.
type statusReceiver struct {
	*httptest.Server
	mu         sync.Mutex
	deliveries []string
}

func newStatusReceiver(t *testing.T, status int) *statusReceiver {
	t.Helper()
	r := &statusReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.deliveries = append(r.deliveries, req.Header.Get(notify.HeaderDelivery))
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// logged is the JSON log lines of logs whose msg starts with prefix.
func logged(t *testing.T, logs *logtest.Buffer, prefix string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err == nil && strings.HasPrefix(fmt.Sprint(l["msg"]), prefix) {
			out = append(out, l)
		}
	}
	return out
}

// docs/notifications.md: 5xx, 429 and 408 are retried, five attempts in all
// by default, each wait twice the one before; any other answer is not
// retried; every attempt carries the same X-Strata-Delivery.
func TestRetriedAnswersTakeFiveAttemptsWithDoublingWaitsAndOneDeliveryID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status, wantAttempts int
	}{
		{http.StatusInternalServerError, 5}, {http.StatusBadGateway, 5}, {http.StatusServiceUnavailable, 5},
		{http.StatusTooManyRequests, 5}, {http.StatusRequestTimeout, 5},
		{http.StatusBadRequest, 1}, {http.StatusUnauthorized, 1}, {http.StatusForbidden, 1}, {http.StatusNotFound, 1},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			rcv := newStatusReceiver(t, tc.status)
			var logs logtest.Buffer
			n, err := notify.New(notify.Options{URL: rcv.URL, Backoff: time.Millisecond, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			go n.Run(t.Context())
			n.Moved(move)
			waitFor(t, "the failure logged", func() bool { return len(logged(t, &logs, "base moved; notification not delivered")) == 1 })
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			if ids := slices.Compact(slices.Clone(rcv.deliveries)); len(rcv.deliveries) != tc.wantAttempts || len(ids) != 1 || ids[0] == "" {
				t.Errorf("a receiver answering %d got %d attempts with delivery ids %q; want %d, all one id", tc.status, len(rcv.deliveries), rcv.deliveries, tc.wantAttempts)
			}
			var waits []string
			for _, l := range logged(t, &logs, "base moved; notification failed, retrying") {
				waits = append(waits, fmt.Sprint(l["retryIn"]))
			}
			if want := []string{"1ms", "2ms", "4ms", "8ms"}[:tc.wantAttempts-1]; !slices.Equal(waits, want) {
				t.Errorf("retry waits at a receiver answering %d = %q, want %q", tc.status, waits, want)
			}
		})
	}
}

// The first retry waits 2 s by default (then 4 s, 8 s, 16 s, as the test
// above doubles them).
func TestFirstRetryWaitsTwoSecondsByDefault(t *testing.T) {
	t.Parallel()
	rcv := newStatusReceiver(t, http.StatusServiceUnavailable)
	var logs logtest.Buffer
	n, err := notify.New(notify.Options{URL: rcv.URL, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go n.Run(ctx)
	n.Moved(move)
	waitFor(t, "the first retry logged", func() bool { return len(logged(t, &logs, "base moved; notification failed, retrying")) == 1 })
	if got := logged(t, &logs, "base moved; notification failed, retrying")[0]["retryIn"]; got != "2s" {
		t.Errorf("first retry of a default Notifier waits %v, want 2s", got)
	}
}

// At most 100 moves wait while one is delivered: of 102 moves at a receiver
// that hangs, one is in delivery or waiting, 100 wait, and the rest (one or
// two, as the delivery goroutine has taken the first or not) are dropped.
func TestAHundredMovesWaitAndTheNextAreDropped(t *testing.T) {
	t.Parallel()
	hanging := newHangingReceiver(t)
	n, err := notify.New(notify.Options{URL: hanging.URL})
	if err != nil {
		t.Fatal(err)
	}
	go n.Run(t.Context())
	for i := range 102 {
		n.Moved(lineage.Move{Tag: fmt.Sprintf("registry.example.com/base/os:%d", i), Role: "os"})
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(n.Collectors()...)
	if got := gathered(t, reg, "strata_notifications_total"); got != "result=dropped 1" && got != "result=dropped 2" {
		t.Errorf("strata_notifications_total after 102 moves at a hanging receiver = %q, want 1 or 2 dropped", got)
	}
}

// An attempt that gets no answer is given up after 10 s (then retried like
// any failure to connect).
func TestAttemptWithoutAnAnswerTimesOutAfterTenSeconds(t *testing.T) {
	t.Parallel()
	hanging := newHangingReceiver(t)
	var logs logtest.Buffer
	n, err := notify.New(notify.Options{URL: hanging.URL, Attempts: 1, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	go n.Run(t.Context())
	start := time.Now()
	n.Moved(move)
	waitFor(t, "the failure logged", func() bool { return len(logged(t, &logs, "base moved; notification not delivered")) == 1 })
	took := time.Since(start)
	msg := fmt.Sprint(logged(t, &logs, "base moved; notification not delivered")[0]["error"])
	if took < 10*time.Second || !strings.Contains(msg, "Client.Timeout") {
		t.Errorf("an attempt at a receiver that never answers failed after %v with %q; want the 10 s client timeout", took, msg)
	}
}

// newHangingReceiver is a receiver that accepts each POST and never
// answers, until the test ends.
func newHangingReceiver(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })
	return hanging
}
