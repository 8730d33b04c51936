package webhook

import (
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// The Windows side of run-as-root, attacked by a tenant of an enforced
// namespace in a cluster with Windows nodes (platforms: windows/amd64
// configured, as docs/security.md class 1 asks). Each case runs a Windows
// container as an administrator, and each was allowed.

// windowsImage is an image whose config says windows/amd64 and USER user.
func windowsImage(t *testing.T, user string) v1.Image {
	t.Helper()
	return imagetest.Image(t, 1, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture, cf.Config.User = "windows", "amd64", user
	})
}

// checkPod checks, in enforce, a Pod of the one container ctr.
func checkPod(t *testing.T, checker *Checker, ctr workload.Container) []policy.Violation {
	t.Helper()
	if ctr.Type == "" {
		ctr.Type = workload.TypeContainer
	}
	w := &workload.Workload{Kind: "Pod", Name: "pod", Namespace: "shop", Containers: []workload.Container{ctr}}
	return checker.Check(testCtx(t), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
}

// nonRootByUID is a Linux pod's way to run a root image as non-root, which
// Windows ignores.
var nonRootByUID = workload.SecurityContext{RunAsUser: new(int64(1000)), RunAsNonRoot: new(true)}

func runAsRootOn(vs []policy.Violation, platform string) bool {
	return slices.ContainsFunc(vs, func(v policy.Violation) bool {
		return v.Policy == "run-as-root" && v.Platform == platform
	})
}

// Windows Server Core, the usual Windows base, sets no USER: its containers
// run as ContainerAdministrator. strata treated USER "" as a name that is not
// ContainerAdministrator, so an image built FROM servercore without a USER
// line ran as the Windows administrator in an enforced namespace (the
// kubelet's runAsNonRoot check has the same blind spot: it looks at the
// image user only when it is non-empty).
func TestWindowsImageWithoutUserRunsAsContainerAdministrator(t *testing.T) {
	p := newPipeline(t)
	host := imagetest.Registry(t)
	imagetest.Push(t, host+"/win/servercore-app:1", windowsImage(t, ""))
	checker := p.checkerOn(t, host, "linux/amd64", "windows/amd64")
	vs := checkPod(t, checker, workload.Container{Name: "app", Image: host + "/win/servercore-app:1", OS: "windows"})
	if !runAsRootOn(vs, "windows/amd64") {
		t.Errorf("Check(windows pod, windows image with no USER) = %v, want a run-as-root violation on windows/amd64: it runs as ContainerAdministrator", vs)
	}
}

// runAsUserName takes DOMAIN\USER (the API validates both parts). The
// administrator named with its domain, or the LocalSystem account, were not
// ContainerAdministrator to strata's exact, whole-string comparison.
func TestWindowsAdministratorNamedWithADomainIsRoot(t *testing.T) {
	p := newPipeline(t)
	host := imagetest.Registry(t)
	imagetest.Push(t, host+"/win/app:1", windowsImage(t, "ContainerUser"))
	checker := p.checkerOn(t, host, "linux/amd64", "windows/amd64")
	for _, name := range []string{`User Manager\ContainerAdministrator`, `NT AUTHORITY\SYSTEM`, `nt authority\system`} {
		vs := checkPod(t, checker, workload.Container{Name: "app", Image: host + "/win/app:1", OS: "windows",
			SecurityContext: workload.SecurityContext{WindowsRunAsUserName: new(name)}})
		if !runAsRootOn(vs, "windows/amd64") {
			t.Errorf("Check(windows pod, runAsUserName %q) = %v, want a run-as-root violation on windows/amd64", name, vs)
		}
	}
}

// spec.os.name is optional: the kubelet refuses a pod whose spec.os.name is
// not its OS, but admits one that says nothing
// (k8s.io/kubernetes/pkg/kubelet/lifecycle rejectPodAdmissionBasedOnOSField),
// and most Windows pods reach Windows nodes by a nodeSelector alone. Such a
// pod was judged by the Linux rules on every manifest, its image's windows
// entry included, where a non-zero runAsUser (ignored on Windows) decides:
// the windows entry's ContainerAdministrator ran unjudged.
func TestPodWithoutOSIsJudgedByTheWindowsRulesOnItsWindowsEntry(t *testing.T) {
	p := newPipeline(t)
	host := imagetest.Registry(t)
	linux := imagetest.Image(t, 1, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture, cf.Config.User = "linux", "amd64", "1000"
	})
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: linux, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: windowsImage(t, "ContainerAdministrator"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "windows", Architecture: "amd64"}}},
	)
	imagetest.Push(t, host+"/win/multi:1", idx)
	imagetest.Push(t, host+"/win/only:1", windowsImage(t, "ContainerAdministrator"))
	checker := p.checkerOn(t, host, "linux/amd64", "windows/amd64")
	for _, image := range []string{host + "/win/multi:1", host + "/win/only:1"} {
		vs := checkPod(t, checker, workload.Container{Name: "app", Image: image, SecurityContext: nonRootByUID})
		if !runAsRootOn(vs, "windows/amd64") {
			t.Errorf("Check(pod without spec.os.name, runAsUser 1000, %s whose windows entry runs as ContainerAdministrator) = %v, want a run-as-root violation on windows/amd64", image, vs)
		}
	}
}

// A plain manifest (no index) runs wherever it is pulled: containerd checks
// the platform of an index's entries, not of the manifest a reference names.
// Its config's os is the publisher's to write, and platforms are compared
// without case (containerd's platforms.Normalize): "Windows", or no os at all,
// must not take a Windows image out of the Windows rules that "windows"
// brings it under.
func TestPodWithoutOSIsJudgedByTheWindowsRulesWhateverItsConfigSpellsTheOS(t *testing.T) {
	p := newPipeline(t)
	host := imagetest.Registry(t)
	for _, os := range []string{"Windows", "WINDOWS", ""} {
		image := host + "/win/spelt:" + map[string]string{"Windows": "title", "WINDOWS": "upper", "": "none"}[os]
		imagetest.Push(t, image, imagetest.Image(t, 1, func(cf *v1.ConfigFile) {
			cf.OS, cf.Architecture, cf.Config.User = os, "amd64", "ContainerAdministrator"
		}))
		checker := p.checkerOn(t, host, "linux/amd64", "windows/amd64")
		vs := checkPod(t, checker, workload.Container{Name: "app", Image: image, SecurityContext: nonRootByUID})
		if !slices.ContainsFunc(vs, func(v policy.Violation) bool { return v.Policy == "run-as-root" || v.Policy == "image-resolution" }) {
			t.Errorf("Check(pod without spec.os.name, runAsUser 1000, plain manifest whose config says os %q and USER ContainerAdministrator) = %v, want a run-as-root (or image-resolution) violation", os, vs)
		}
	}
}
