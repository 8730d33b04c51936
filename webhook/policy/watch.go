package policy

import (
	"context"
	"os"
	"slices"
	"time"
)

// maxSettlePolls bounds how many polls a reload waits for files that keep
// changing: a file rewritten every second is reloaded at most once per
// maxSettlePolls polls, not on every one.
const maxSettlePolls = 5

// Watch reloads the policies whenever the user's files change, checking
// every interval until ctx ends. It polls rather than using inotify: a
// ConfigMap update swaps a symlink, which file watches miss or see twice.
func (e *Engine) Watch(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	w := newWatcher(e)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		w.poll(ctx)
	}
}

// watcher holds what one Watch loop remembers between polls.
type watcher struct {
	e *Engine
	// pending is the changed state seen at the previous poll, waited the
	// number of polls the change has been waiting to settle.
	pending []fileState
	waited  int
}

func newWatcher(e *Engine) *watcher { return &watcher{e: e} }

// poll is one tick of Watch. It stats the files (cheap) and reads nothing
// when their sizes, mtimes and inodes are those of the last attempt. A
// change is reloaded once it has settled (the same state on two polls in a
// row), or after maxSettlePolls if it never does; a file touched without a
// change in content is read once, hashed, and not reloaded.
func (w *watcher) poll(ctx context.Context) {
	e := w.e
	now := snapshot(e.opts.Paths)
	e.statusMu.Lock()
	same := slices.Equal(now, e.seen)
	e.statusMu.Unlock()
	if same {
		w.pending, w.waited = nil, 0
		return
	}
	if !slices.Equal(now, w.pending) && w.waited < maxSettlePolls {
		w.pending = now
		w.waited++
		return
	}
	w.pending, w.waited = nil, 0
	if !e.contentChanged(now) {
		return
	}
	if err := e.Reload(ctx); err != nil {
		e.opts.Logger.Error("policy reload failed; still serving the previous policies", "error", err)
		return
	}
	e.opts.Logger.Info("policies reloaded", "generation", e.Status().Generation)
}

// contentChanged reports whether the user's files differ in content from
// those of the last attempt, good or bad: a broken file is reported once,
// not every poll. When they do not, now becomes the state seen.
func (e *Engine) contentChanged(now []fileState) bool {
	_, fingerprint, _ := e.userFiles().read()
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	if fingerprint != e.attempted {
		return true
	}
	e.seen = now
	return false
}

// fileState is what a poll compares: cheap to get, and changed by any
// write (size, mtime) or swap (device and inode, through symlinks).
type fileState struct {
	path       string
	size       int64
	mtime      int64
	dev, inode uint64
	err        string
}

// snapshot stats the user's files, following symlinks, so that a
// ConfigMap's ..data swap or a re-pointed root shows as new inodes.
func snapshot(paths []string) []fileState {
	var out []fileState
	for _, root := range paths {
		list, err := listFiles(root)
		if err != nil {
			out = append(out, fileState{path: root, err: err.Error()})
			continue
		}
		for _, p := range list {
			info, err := os.Stat(p)
			if err != nil {
				out = append(out, fileState{path: p, err: err.Error()})
				continue
			}
			st := fileState{path: p, size: info.Size(), mtime: info.ModTime().UnixNano()}
			st.dev, st.inode = fileID(info)
			out = append(out, st)
		}
	}
	return out
}
