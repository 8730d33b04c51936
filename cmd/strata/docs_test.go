package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docCommand is one ```console block of a document that runs strata: the
// command after "$ " and the output the document shows for it.
type docCommand struct {
	file string
	line int
	args []string
	want string
}

// strataPrefixes are how documents spell a strata command.
var strataPrefixes = []string{"go run ./cmd/strata ", "strata "}

// docCommands reads the console blocks of the Markdown file whose first
// line runs strata. A command continued with a trailing backslash, or a
// block of another program (curl against a running server), is not one.
func docCommands(t *testing.T, file string) []docCommand {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var out []docCommand
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```console" || i+1 >= len(lines) {
			continue
		}
		first := strings.TrimPrefix(lines[i+1], "$ ")
		var rest string
		for _, p := range strataPrefixes {
			if r, ok := strings.CutPrefix(first, p); ok && first != lines[i+1] && !strings.HasSuffix(first, "\\") {
				rest = r
			}
		}
		end := i + 2
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if rest != "" {
			out = append(out, docCommand{file: file, line: i + 2, args: strings.Fields(rest), want: strings.Join(lines[i+2:end], "\n")})
		}
		i = end
	}
	return out
}

// Every strata command a document shows with its output (README.md,
// docs/*.md) prints exactly that output on this commit: a changed message
// fails here, not in a newcomer's terminal. An exit status other than 0 is
// shown as `go run` shows it.
func TestDocumentedCommandsPrintWhatTheDocumentsShow(t *testing.T) {
	t.Chdir("../..")
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []docCommand
	for _, f := range append([]string{"README.md"}, docs...) {
		cmds = append(cmds, docCommands(t, f)...)
	}
	if len(cmds) < 2 {
		t.Fatalf("found %d documented strata commands, want at least README's inspect and check", len(cmds))
	}
	for _, c := range cmds {
		t.Run(fmt.Sprintf("%s:%d", c.file, c.line), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runWithStdin(t.Context(), c.args, strings.NewReader(""), &stdout, &stderr)
			got := strings.TrimSuffix(stdout.String(), "\n")
			if code != 0 {
				got += fmt.Sprintf("\nexit status %d", code)
			}
			if got != c.want {
				t.Errorf("%s:%d: strata %s printed (stderr %q):\n%s\n\nthe document shows:\n%s", c.file, c.line, strings.Join(c.args, " "), stderr.String(), got, c.want)
			}
		})
	}
}
