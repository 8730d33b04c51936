// Package workload turns any pod-bearing object into the containers strata
// checks, each with the security context the kubelet would apply to it.
package workload

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
