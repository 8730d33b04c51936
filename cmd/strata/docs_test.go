package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
		t.Run(fmt.Sprintf("%s:%d", c.file, c.line), func(t *testing.T) { checkDocCommand(t, c) })
	}
}

// checkDocCommand runs c and compares what it prints with what the
// document shows, an elided part (a line "…") standing for any lines.
func checkDocCommand(t *testing.T, c docCommand) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runWithStdin(t.Context(), c.args, strings.NewReader(""), &stdout, &stderr)
	got := strings.TrimSuffix(stdout.String(), "\n")
	if code != 0 {
		got += fmt.Sprintf("\nexit status %d", code)
	}
	if !showsElided(got, c.want) {
		t.Errorf("%s:%d: strata %s printed (stderr %q):\n%s\n\nthe document shows:\n%s", c.file, c.line, strings.Join(c.args, " "), stderr.String(), got, c.want)
	}
}

// elision is the line a document writes where it leaves out lines of an
// output (indented as the output's lines are, if it likes).
const elision = "…"

// showsElided reports whether shown is output with some runs of lines
// replaced by an elision line each: every part between elisions is a run
// of whole lines of output, in order, the first one at its start unless
// shown starts with an elision, the last at its end unless shown ends
// with one.
func showsElided(output, shown string) bool {
	out, parts := strings.Split(output, "\n"), [][]string{nil}
	for _, line := range strings.Split(shown, "\n") {
		if strings.TrimSpace(line) == elision {
			parts = append(parts, nil)
			continue
		}
		parts[len(parts)-1] = append(parts[len(parts)-1], line)
	}
	if len(parts) == 1 {
		return output == shown
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(first)+len(last) > len(out) || !slices.Equal(out[:len(first)], first) || !slices.Equal(out[len(out)-len(last):], last) {
		return false
	}
	out = out[len(first) : len(out)-len(last)]
	for _, part := range parts[1 : len(parts)-1] {
		at := indexLines(out, part)
		if at < 0 {
			return false
		}
		out = out[at+len(part):]
	}
	return true
}

// indexLines is the index of the first run of lines equal to part in
// lines, or -1.
func indexLines(lines, part []string) int {
	for i := 0; i+len(part) <= len(lines); i++ {
		if slices.Equal(lines[i:i+len(part)], part) {
			return i
		}
	}
	return -1
}

// docs/policy-input.md and docs/lineage.md show the policy input and the
// lineage as strata inspect -o input prints them for demo images: each
// document must hold such a command, and the command must print what the
// document shows, so that a changed input fails here.
func TestInputDocumentsShowWhatInspectPrints(t *testing.T) {
	t.Chdir("../..")
	for _, file := range []string{"docs/policy-input.md", "docs/lineage.md"} {
		var found bool
		for _, c := range docCommands(t, file) {
			if len(c.args) > 0 && c.args[0] == "inspect" && slices.Contains(c.args, "--demo") && strings.Contains(strings.Join(c.args, " "), "-o input") {
				found = true
				t.Run(fmt.Sprintf("%s:%d", c.file, c.line), func(t *testing.T) { checkDocCommand(t, c) })
			}
		}
		if !found {
			t.Errorf("%s shows no console block of strata inspect --demo -o input", file)
		}
	}

	// lineage.md quotes the chain line strata inspect prints for the image.
	raw, err := os.ReadFile("docs/lineage.md")
	if err != nil {
		t.Fatal(err)
	}
	quoted := regexp.MustCompile("`(base/debian:[^`]*→[^`]*)`").FindStringSubmatch(string(raw))
	if quoted == nil {
		t.Fatal("docs/lineage.md quotes no chain line of strata inspect")
	}
	if out := demoOutput(t, "inspect", "--demo", "shop/billing:1.0"); !strings.Contains(out, "    lineage     "+quoted[1]+"\n") {
		t.Errorf("docs/lineage.md quotes the chain line %q, which strata inspect --demo shop/billing:1.0 does not print:\n%s", quoted[1], out)
	}
}

func TestShowsElided(t *testing.T) {
	const output = "a\nb\nc\nd\ne"
	for _, tc := range []struct {
		shown string
		want  bool
	}{
		{"a\nb\nc\nd\ne", true},
		{"a\nb\nc\nd", false},
		{"a\n…\ne", true},
		{"a\n  …\nc\n…\ne", true},
		{"…\nc\n…", true},
		{"…\nc\nb\n…", false},
		{"a\n…\nd\n…\nc\n…\ne", false},
		{"b\n…\ne", false},
		{"a\n…\nd", false},
		{"a\nb\nc\n…\nc\nd\ne", false},
		{"…\nx\n…", false},
	} {
		if got := showsElided(output, tc.shown); got != tc.want {
			t.Errorf("showsElided(%q, %q) = %v, want %v", output, tc.shown, got, tc.want)
		}
	}
}

// A document that says which test asserts a statement must name a test
// that exists: a renamed or moved test otherwise leaves the statement
// pointing at nothing (docs/security.md named six tests that had moved to
// webhook/manifest under other names).
func TestDocumentsNameOnlyTestsThatExist(t *testing.T) {
	t.Chdir("../..")
	defined := map[string]bool{}
	funcName := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w+)\(`)
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "tools") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range funcName.FindAllStringSubmatch(string(src), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"README.md", "charts/strata/README.md"}
	for _, pattern := range []string{"docs/*.md", "test/bench/*.md"} {
		more, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, more...)
	}
	named := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)(?:/[^`]*)?`")
	var checked int
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range named.FindAllStringSubmatch(string(raw), -1) {
			checked++
			if !defined[m[1]] {
				t.Errorf("%s names %s, which no _test.go file defines", doc, m[1])
			}
		}
	}
	if checked < 100 {
		t.Errorf("found %d test names in the documents, want the hundreds they name: is the pattern still right?", checked)
	}
}
