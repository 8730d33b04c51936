package main

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/strata-project/strata/internal/testutil"
)

func TestVersionReadsTheBuildInfo(t *testing.T) {
	t.Parallel()
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/strata-project/strata", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "70eeb66e"}, {Key: "vcs.time", Value: "2026-11-30T05:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := buildVersion{Version: "v0.4.0", Revision: "70eeb66e", Time: "2026-11-30T05:00:00Z", Modified: true, GoVersion: "go1.26.8"}
	if got := versionOf(info, true); got != want {
		t.Errorf("versionOf = %+v, want %+v", got, want)
	}
	if got, want := want.String(), "strata v0.4.0, commit 70eeb66e (2026-11-30T05:00:00Z), with uncommitted changes, built with go1.26.8"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if got := versionOf(nil, false); got.Version != "unknown" {
		t.Errorf("without build information, version = %+v, want unknown", got)
	}

	// The command prints this binary's own build information.
	code, out, errOut := runStrata(t, "version", "-o", "json")
	var v buildVersion
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.GoVersion != runtime.Version() || v.Version == "" {
		t.Errorf("strata version -o json = exit %d, %q, stderr %q; want JSON naming %s", code, out, errOut, runtime.Version())
	}
	code, out, _ = runStrata(t, "version")
	if code != 0 || !strings.HasPrefix(out, "strata ") || !strings.Contains(out, "built with "+runtime.Version()) {
		t.Errorf("strata version = exit %d, %q", code, out)
	}
	if code, _, errOut := runStrata(t, "version", "-o", "yaml"); code != 2 || !strings.Contains(errOut, `-o "yaml": want text or json`) {
		t.Errorf("strata version -o yaml = exit %d, stderr %q; want exit 2", code, errOut)
	}
}

// The shell completes commands, flags and the values of -o and --mode.
func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if code, out, errOut := runStrata(t, "completion", shell); code != 0 || !strings.Contains(out, "strata") || len(out) < 1000 {
			t.Errorf("strata completion %s = exit %d, %d bytes, stderr %q; want a script", shell, code, len(out), errOut)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{""}, []string{"check", "completion", "inspect", "serve", "version"}},
		{[]string{"check", "-o", ""}, checkOutputs},
		{[]string{"inspect", "--output", ""}, inspectOutputs},
		{[]string{"check", "--mode", ""}, []string{"enforce", "warn", "audit"}},
		{[]string{"serve", "--k"}, []string{"--kubeconfig"}},
	} {
		code, out, errOut := runStrata(t, append([]string{"__complete"}, tc.args...)...)
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if l != "" && !strings.HasPrefix(l, ":") {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		for _, w := range tc.want {
			if code != 0 || !slices.Contains(got, w) {
				t.Errorf("completing strata %q = exit %d, %q (stderr %q); want %s among them", tc.args, code, got, errOut, w)
			}
		}
	}
}

// The cluster flags mean what they mean to kubectl: --kubeconfig and
// --context pick the cluster, -n the namespace over the context's, -A all.
func TestKubeFlagsSelectAsKubectlDoes(t *testing.T) {
	t.Parallel()
	kubeconfig := testutil.WriteFile(t, t.TempDir(), "kubeconfig", `apiVersion: v1
kind: Config
current-context: a
clusters:
- {name: a, cluster: {server: "https://a.example:6443"}}
- {name: b, cluster: {server: "https://b.example:6443"}}
users:
- {name: u, user: {token: not-a-secret}}
contexts:
- {name: a, context: {cluster: a, user: u}}
- {name: b, context: {cluster: b, user: u, namespace: team-b}}
`)
	for _, tc := range []struct {
		args          []string
		host, ns      string
		explicitGiven bool
	}{
		{[]string{"--kubeconfig", kubeconfig}, "https://a.example:6443", "default", true},
		{[]string{"--kubeconfig", kubeconfig, "--context", "b"}, "https://b.example:6443", "team-b", true},
		{[]string{"--kubeconfig=" + kubeconfig, "--context=b", "-n", "shop"}, "https://b.example:6443", "shop", true},
		{[]string{"--kubeconfig", kubeconfig, "--namespace", "shop", "-A"}, "https://a.example:6443", "", true},
	} {
		k := newKubeFlags()
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		k.addConnection(fs)
		k.addNamespaces(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		cfg, err := k.clientConfig().ClientConfig()
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		ns, err := k.namespace()
		if cfg.Host != tc.host || ns != tc.ns || err != nil || k.given() != tc.explicitGiven {
			t.Errorf("%q: host %s, namespace %q (%v), given %v; want %s, %q, %v", tc.args, cfg.Host, ns, err, k.given(), tc.host, tc.ns, tc.explicitGiven)
		}
	}
}

// A kubeconfig that cannot be read stops serve before it listens, naming it.
func TestServeWithAnUnreadableKubeconfigFails(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "kubeconfig")
	code, _, errOut := runStrata(t, "serve", "--dev", "--demo", "--kubeconfig", missing, "--addr", freeAddr(t), "--health-addr", freeAddr(t))
	if code != 2 || !strings.Contains(errOut, "kubernetes client") || !strings.Contains(errOut, missing) {
		t.Errorf("strata serve --kubeconfig %s = exit %d, stderr %q; want exit 2 naming the file", missing, code, errOut)
	}
}

// --help is help, on standard output, for every command: exit 0.
func TestHelpIsNotAnError(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"help"}, {"check", "-h"}, {"serve", "--help"}, {"help", "inspect"}} {
		code, out, _ := runStrata(t, args...)
		if code != 0 || !strings.Contains(out, "Usage: strata") {
			t.Errorf("strata %q = exit %d, stdout %q; want exit 0 and the usage", args, code, out)
		}
	}
	if code, _, errOut := runStrata(t); code != 2 || !strings.Contains(errOut, "Usage: strata COMMAND") {
		t.Errorf("strata alone = exit %d, stderr %q; want exit 2 and the usage", code, errOut)
	}
}

// strata's flags were Go's flag package, which reads -config like
// --config; scripts written so keep working. -o json stays a shorthand.
func TestGoStyleSingleDashLongFlagsKeepWorking(t *testing.T) {
	t.Parallel()
	code, out, errOut := runStrata(t, "inspect", "-demo", "-o", "json", "-platform=linux/amd64", "shop/web:1.0")
	if code != 0 || !strings.Contains(out, `"platform": "linux/amd64"`) {
		t.Errorf("strata inspect -demo -o json -platform=linux/amd64 = exit %d, stderr %q, stdout %q", code, errOut, out)
	}
	code, out, errOut = runStrata(t, "check", "-demo", "-mode", "enforce", "-ojson", "-f", examples+"good.yaml")
	if code != 0 || !strings.Contains(out, `"decision"`) {
		t.Errorf("strata check -demo -mode enforce -ojson -f good.yaml = exit %d, stderr %q, stdout %q", code, errOut, out)
	}
}
