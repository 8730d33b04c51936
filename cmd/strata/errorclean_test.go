package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A repository may hold a file whose name carries escapes and a newline
// (git allows both): the error that stops strata check names it, and must
// neither redraw the terminal nor start a line of its own (a CI log reads
// a line starting with ::error:: as a command).
func TestCheckErrorNamingAHostileFileNameCannotForgeTheTerminalOrCILog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := filepath.Join(dir, "x\x1b]0;owned\x07\n::error file=main.go::all clear.yaml")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"check", "--demo", "-f", dir}, &stdout, &stderr)
	out := stderr.String()
	if code != 2 || !strings.Contains(out, "not a regular file") {
		t.Fatalf("check of a directory holding a FIFO = exit %d, stderr %q; want 2 and the refusal", code, out)
	}
	if strings.ContainsAny(out, "\x1b\x07") || strings.Contains(out, "\n::error") {
		t.Errorf("stderr carries the file name's escapes or newline as written: %q", out)
	}
}
