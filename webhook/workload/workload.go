// Package workload turns any pod-bearing object into the containers strata
// checks, each with the security context the kubelet would apply to it.
package workload

import (
	corev1 "k8s.io/api/core/v1"
)

// The container types, as the policy input names them.
const (
	TypeContainer = "container"
	TypeInit      = "init"
	TypeSidecar   = "sidecar" // an init container with restartPolicy: Always
	TypeEphemeral = "ephemeral"
)

// Container is one container to check. Its JSON form is the policy input's
// container object.
type Container struct {
	Name            string          `json:"name"`
	Type            string          `json:"type"`  // TypeContainer, TypeInit, TypeSidecar or TypeEphemeral
	Image           string          `json:"image"` // as written
	OS              string          `json:"os"`    // the pod's spec.os.name: "linux", "windows" or ""
	SecurityContext SecurityContext `json:"securityContext"`
}

// SecurityContext is the effective security context of a container: each
// field is the container's value if it sets one, else the pod's, as the
// kubelet merges them. A nil field is set by neither.
type SecurityContext struct {
	RunAsUser            *int64  `json:"runAsUser,omitempty"`
	RunAsGroup           *int64  `json:"runAsGroup,omitempty"`
	RunAsNonRoot         *bool   `json:"runAsNonRoot,omitempty"`
	WindowsRunAsUserName *string `json:"windowsRunAsUserName,omitempty"`
}

// Workload is a pod-bearing object: what it is and the containers of the pod
// template (or pod) inside it. Its JSON form is the policy input's workload
// object; the rest is for the webhook.
type Workload struct {
	Kind        string            `json:"kind"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"` // empty when the object leaves it to the request
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`

	ServiceAccountName string      `json:"-"`
	ImagePullSecrets   []string    `json:"-"` // secret names in spec order; an entry without a name is left out
	Containers         []Container `json:"-"` // init and sidecars, then containers, then ephemeral
}

// FromPodSpec returns the containers of spec in the order the kubelet starts
// them: init containers and sidecars in spec order, then containers, then
// ephemeral containers.
func FromPodSpec(spec *corev1.PodSpec) []Container {
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
	return &securityFields{
		RunAsUser:      sc.RunAsUser,
		RunAsGroup:     sc.RunAsGroup,
		RunAsNonRoot:   sc.RunAsNonRoot,
		WindowsOptions: fromWindowsOptions(sc.WindowsOptions),
	}
}

func fromSecurityContext(sc *corev1.SecurityContext) *securityFields {
	if sc == nil {
		return nil
	}
	return &securityFields{
		RunAsUser:      sc.RunAsUser,
		RunAsGroup:     sc.RunAsGroup,
		RunAsNonRoot:   sc.RunAsNonRoot,
		WindowsOptions: fromWindowsOptions(sc.WindowsOptions),
	}
}

func fromWindowsOptions(w *corev1.WindowsSecurityContextOptions) *windowsOptions {
	if w == nil {
		return nil
	}
	return &windowsOptions{RunAsUserName: w.RunAsUserName}
}
