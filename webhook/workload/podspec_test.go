package workload

import (
	corev1 "k8s.io/api/core/v1"
)

// fromPodSpec returns the containers of spec in the order the kubelet starts
// them: init containers and sidecars in spec order, then containers, then
// ephemeral containers. The tests use it as the oracle Decode is held to:
// the same containers from the API's own types.
func fromPodSpec(spec *corev1.PodSpec) []Container {
	if spec == nil {
		return nil
	}
	p := podSpec{
		InitContainers:      make([]container, len(spec.InitContainers)),
		Containers:          make([]container, len(spec.Containers)),
		EphemeralContainers: make([]container, len(spec.EphemeralContainers)),
		SecurityContext:     fromPodSecurityContext(spec.SecurityContext),
	}
	if spec.OS != nil {
		p.OS = &podOS{Name: string(spec.OS.Name)}
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		p.InitContainers[i] = container{Name: c.Name, Image: c.Image, SecurityContext: fromSecurityContext(c.SecurityContext)}
		if c.RestartPolicy != nil {
			p.InitContainers[i].RestartPolicy = string(*c.RestartPolicy)
		}
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		p.Containers[i] = container{Name: c.Name, Image: c.Image, SecurityContext: fromSecurityContext(c.SecurityContext)}
	}
	for i := range spec.EphemeralContainers {
		c := &spec.EphemeralContainers[i]
		p.EphemeralContainers[i] = container{Name: c.Name, Image: c.Image, SecurityContext: fromSecurityContext(c.SecurityContext)}
	}
	return p.containers()
}

func fromPodSecurityContext(sc *corev1.PodSecurityContext) *securityFields {
	if sc == nil {
		return nil
	}
	return fromFields(sc.RunAsUser, sc.RunAsGroup, sc.RunAsNonRoot, sc.WindowsOptions)
}

func fromSecurityContext(sc *corev1.SecurityContext) *securityFields {
	if sc == nil {
		return nil
	}
	return fromFields(sc.RunAsUser, sc.RunAsGroup, sc.RunAsNonRoot, sc.WindowsOptions)
}

// fromFields is what a pod's and a container's security context share.
func fromFields(user, group *int64, nonRoot *bool, windows *corev1.WindowsSecurityContextOptions) *securityFields {
	return &securityFields{RunAsUser: user, RunAsGroup: group, RunAsNonRoot: nonRoot, WindowsOptions: fromWindowsOptions(windows)}
}

func fromWindowsOptions(w *corev1.WindowsSecurityContextOptions) *windowsOptions {
	if w == nil {
		return nil
	}
	return &windowsOptions{RunAsUserName: w.RunAsUserName}
}
