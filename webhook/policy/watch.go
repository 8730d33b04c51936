package policy

import (
	"context"
	"time"
)

// Watch reloads the policies whenever the user's files change, checking
// every interval until ctx ends. It polls rather than using inotify: a
// ConfigMap update swaps a symlink, which file watches miss or see twice.
func (e *Engine) Watch(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if !e.changed() {
			continue
		}
		if err := e.Reload(ctx); err != nil {
			e.opts.Logger.Error("policy reload failed; still serving the previous policies", "error", err)
			continue
		}
		e.opts.Logger.Info("policies reloaded", "generation", e.Status().Generation)
	}
}

// changed reports whether the user's files differ from those of the last
// attempt, good or bad: a broken file is reported once, not every tick.
func (e *Engine) changed() bool {
	_, fingerprint, _ := readUserFiles(e.opts.Paths)
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	return fingerprint != e.attempted
}
