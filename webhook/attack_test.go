package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// A registry may serve a config of up to registry.maxBodyBytes (4 MiB): one
// image whose config holds a few megabytes of Env, named by every container
// of a pod just under the bound on evaluations, made strata build, hash and
// evaluate that config once per container and answer long after the API
// server's deadline, the registry work having been fast.
func TestHugeConfigTimesManyContainersIsAnsweredBeforeTheDeadline(t *testing.T) {
	p := newPipeline(t)
	host := imagetest.Registry(t)
	const envEntries = 250_000
	img := imagetest.Image(t, 1, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture, cf.Config.User = "linux", "amd64", "1000"
		for i := range envEntries {
			cf.Config.Env = append(cf.Config.Env, fmt.Sprintf("E%d=x", i))
		}
	})
	imagetest.Push(t, host+"/big/env:1", img)

	checker := p.checkerOn(t, host)

	// 1000 containers × 1 platform: at the bound, not past it.
	w := &workload.Workload{Kind: "Pod", Name: "wide", Namespace: "shop"}
	for i := range 1000 / 2 {
		w.Containers = append(w.Containers, workload.Container{Name: fmt.Sprintf("c%d", i), Type: "container", Image: host + "/big/env:1"})
	}
	const deadline = 5 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	start := time.Now()
	vs := checker.Check(ctx, policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	took := time.Since(start)
	if took > deadline+time.Second {
		t.Errorf("Check of %d containers of one image with a %d-entry Env took %v, past the request's %v deadline (%d violations)", len(w.Containers), envEntries, took, deadline, len(vs))
	}
	// What was not evaluated is a violation that denies in enforce, never
	// nothing.
	if took > deadline && !slices.ContainsFunc(vs, func(v policy.Violation) bool {
		return v.Policy == "image-resolution" && strings.Contains(v.Msg, "deadline")
	}) {
		t.Errorf("Check past its deadline returned %d violations, none an image-resolution violation naming the deadline", len(vs))
	}
}

// A pod that says spec.os.name: windows runs only on Windows nodes, which
// pull the index's windows entry. With the default platforms (linux/amd64,
// linux/arm64) strata evaluated the linux entries under the Windows rules,
// where a Linux USER is never ContainerAdministrator, and allowed the pod
// while its Windows image runs as the Windows administrator.
func TestWindowsPodIsCheckedOnTheWindowsEntryNotTheLinuxOnes(t *testing.T) {
	p := newPipeline(t)
	host := imagetest.Registry(t)
	image := func(platform, user string) v1.Image {
		pl, err := v1.ParsePlatform(platform)
		if err != nil {
			t.Fatal(err)
		}
		return imagetest.Image(t, 1, func(cf *v1.ConfigFile) {
			cf.OS, cf.Architecture, cf.Config.User = pl.OS, pl.Architecture, user
		})
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: image("linux/amd64", "1000"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: image("windows/amd64", "ContainerAdministrator"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "windows", Architecture: "amd64"}}},
	)
	imagetest.Push(t, host+"/win/app:1", idx)
	checker := p.checkerOn(t, host)
	w := &workload.Workload{Kind: "Pod", Name: "win", Namespace: "shop", Containers: []workload.Container{
		{Name: "app", Type: "container", Image: host + "/win/app:1", OS: "windows"},
	}}
	vs := checker.Check(testCtx(t), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	// Only the linux entry is checked (platforms' default): nothing is left
	// for a windows pod, which gets one pod-os error saying what to add
	// (docs/images.md).
	podOS := `image "` + host + `/win/app:1" has no manifest for the pod's OS among those strata checked: add that OS's platform (e.g. windows/amd64) to platforms`
	if len(vs) != 1 || vs[0].Policy != "image-resolution" || !strings.Contains(vs[0].Msg, podOS) {
		t.Errorf("Check of a windows pod of an image whose checked entries are linux = %v, want one image-resolution violation saying %q", vs, podOS)
	}

	// With windows/amd64 configured, the windows pod is judged by the
	// windows entry, and a linux pod of the same image by its linux one only.
	checker = p.checkerOn(t, host, "linux/amd64", "windows/amd64")
	vs = checker.Check(testCtx(t), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	if !slices.ContainsFunc(vs, func(v policy.Violation) bool { return v.Policy == "run-as-root" && v.Platform == "windows/amd64" }) {
		t.Errorf("Check of the windows pod with windows/amd64 configured = %v, want a run-as-root violation on windows/amd64", vs)
	}
	w.Containers[0].OS = "linux"
	vs = checker.Check(testCtx(t), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	if slices.ContainsFunc(vs, func(v policy.Violation) bool { return v.Policy == "run-as-root" || v.Platform == "windows/amd64" }) {
		t.Errorf("Check of a linux pod of the same image = %v, want nothing from the windows entry it never runs", vs)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
