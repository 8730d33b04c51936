package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/manifest"
)

// Every strata command docs/security.md quotes is one strata has, and every
// flag it names is a flag of the command it belongs to: a renamed command
// or flag fails here, not in a reviewer's shell.
func TestSecurityDocNamesOnlyCommandsAndFlagsStrataHas(t *testing.T) {
	t.Parallel()
	doc := testutil.DocProse(t, "../../docs/security.md")
	find := func(args ...string) (*cobra.Command, []string) {
		t.Helper()
		root := newRootCommand(strings.NewReader(""), io.Discard, io.Discard)
		cmd, rest, err := root.Find(args)
		// Find stops at a word that names no subcommand and returns it.
		if err != nil || cmd == root || cmd.HasSubCommands() && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			t.Errorf("docs/security.md quotes strata %s: no such command (%v)", strings.Join(args, " "), err)
			return nil, nil
		}
		return cmd, rest
	}
	hasFlag := func(cmd *cobra.Command, flag string) bool {
		name := strings.TrimLeft(flag, "-")
		if strings.HasPrefix(flag, "--") {
			return cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil
		}
		return cmd.Flags().ShorthandLookup(name) != nil || cmd.InheritedFlags().ShorthandLookup(name) != nil
	}
	quoted := regexp.MustCompile("`strata ([^`]+)`").FindAllStringSubmatch(doc, -1)
	if len(quoted) < 10 {
		t.Fatalf("found %d quoted strata commands in docs/security.md, want the dozen and more it quotes: is the pattern still right?", len(quoted))
	}
	for _, m := range quoted {
		cmd, rest := find(strings.Fields(m[1])...)
		for _, arg := range rest {
			if strings.HasPrefix(arg, "-") && cmd != nil && !hasFlag(cmd, arg) {
				t.Errorf("docs/security.md quotes strata %s: %s has no flag %s", m[1], cmd.Name(), arg)
			}
		}
	}
	// The flags the document names alone, by the command they belong to.
	byCommand := map[string][]string{
		"serve": {"--addr", "--health-addr", "--max-connections", "--health-max-connections", "--graph", "--notify", "--client-ca", "--client-cn", "--dev"},
		"check": {"--max-file-bytes", "--max-total-bytes"},
		"graph": {"--uses"},
		"audit": {"-l", "-n"},
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`(--?[a-zA-Z][a-z-]*)`").FindAllStringSubmatch(doc, -1) {
		named[m[1]] = true
	}
	for command, flags := range byCommand {
		cmd, _ := find(command)
		for _, flag := range flags {
			delete(named, flag)
			if cmd != nil && !hasFlag(cmd, flag) {
				t.Errorf("docs/security.md names strata %s's %s, which it does not take", command, flag)
			}
		}
	}
	for flag := range named {
		t.Errorf("docs/security.md names the flag %s, which this test does not know the command of: add it above", flag)
	}
}

// The numbers docs/security.md states for the commands' flags, the
// manifest reader and serve's memory settings are the code's.
func TestSecurityDocStatesTheCommandsBounds(t *testing.T) {
	t.Parallel()
	root := newRootCommand(strings.NewReader(""), io.Discard, io.Discard)
	def := func(command, flag string) string {
		t.Helper()
		cmd, _, err := root.Find([]string{command})
		if err != nil || cmd.Flags().Lookup(flag) == nil {
			t.Fatalf("strata %s has no flag --%s (%v)", command, flag, err)
		}
		return cmd.Flags().Lookup(flag).DefValue
	}
	if def("check", "max-file-bytes") != fmt.Sprint(manifest.DefaultFileBytes) || def("check", "max-total-bytes") != fmt.Sprint(manifest.DefaultTotalBytes) {
		t.Errorf("check's --max-file-bytes and --max-total-bytes default to %s and %s, not the reader's defaults", def("check", "max-file-bytes"), def("check", "max-total-bytes"))
	}
	if def("serve", "max-connections") != fmt.Sprint(webhook.DefaultWebhookLimits().MaxConns) || def("serve", "health-max-connections") != fmt.Sprint(webhook.DefaultHealthLimits().MaxConns) {
		t.Errorf("serve's --max-connections and --health-max-connections default to %s and %s, not the listeners' defaults", def("serve", "max-connections"), def("serve", "health-max-connections"))
	}
	const limit = 1000
	tenth, _, _ := softMemoryLimit(func(k string) string { return map[string]string{memoryLimitEnv: fmt.Sprint(limit)}[k] }, 0)
	fromCache, _, _ := softMemoryLimit(func(string) string { return "" }, webhook.DefaultCacheBytes)
	floor, _, _ := softMemoryLimit(func(string) string { return "" }, 1)
	testutil.DocStates(t, "../../docs/security.md",
		fmt.Sprintf("nested lists breadth first, up to %d levels; deeper is an error", manifest.MaxListDepth),
		fmt.Sprintf("`--max-file-bytes` (%d MiB, per file and stdin) and `--max-total-bytes` (%d MiB per run)", manifest.DefaultFileBytes>>20, manifest.DefaultTotalBytes>>20),
		fmt.Sprintf("files (size, mtime, device/inode) every %d s", policyPollInterval/time.Second),
		fmt.Sprintf("passes to strata as `%s`; strata sets Go's soft memory limit to %d %% of it", memoryLimitEnv, tenth*100/limit),
		fmt.Sprintf("plus 8 MiB, at least %d MiB (%d MiB with the default `%dMi`)", floor>>20, fromCache>>20, webhook.DefaultCacheBytes>>20),
		fmt.Sprintf("strata also sets `GOGC=%d` unless `GOGC` is set", boundedGCPercent),
		// Class 4: the rate serve replaced (pullSecretsQPS).
		fmt.Sprintf("With client-go's default of %d per second for the whole webhook", int(rest.DefaultQPS)),
	)
	if fromCache != 2*webhook.DefaultCacheBytes+8<<20 {
		t.Errorf("softMemoryLimit without a container limit = %d, not twice cache.maxBytes plus 8 MiB as docs/security.md says", fromCache)
	}
}
