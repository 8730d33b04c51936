package workload

// podSpec is the part of a PodSpec that strata reads. Decode fills it
// straight from JSON (and the tests from a corev1.PodSpec), so that the
// container order and the security context merge are written once.
type podSpec struct {
	InitContainers      []container      `json:"initContainers"`
	Containers          []container      `json:"containers"`
	EphemeralContainers []container      `json:"ephemeralContainers"`
	SecurityContext     *securityFields  `json:"securityContext"`
	OS                  *podOS           `json:"os"`
	ServiceAccountName  string           `json:"serviceAccountName"`
	ServiceAccount      string           `json:"serviceAccount"` // deprecated alias, still accepted by v1
	ImagePullSecrets    []localObjectRef `json:"imagePullSecrets"`
}

type container struct {
	Name            string          `json:"name"`
	Image           string          `json:"image"`
	RestartPolicy   string          `json:"restartPolicy"`
	SecurityContext *securityFields `json:"securityContext"`
}

// securityFields are the fields a pod and a container security context share
// that decide who a container runs as.
type securityFields struct {
	RunAsUser      *int64          `json:"runAsUser"`
	RunAsGroup     *int64          `json:"runAsGroup"`
	RunAsNonRoot   *bool           `json:"runAsNonRoot"`
	WindowsOptions *windowsOptions `json:"windowsOptions"`
}

type windowsOptions struct {
	RunAsUserName *string `json:"runAsUserName"`
}

type podOS struct {
	Name string `json:"name"`
}

type localObjectRef struct {
	Name string `json:"name"`
}

func (p *podSpec) containers() []Container {
	n := len(p.InitContainers) + len(p.Containers) + len(p.EphemeralContainers)
	if n == 0 {
		return nil
	}
	out := make([]Container, 0, n)
	for i := range p.InitContainers {
		typ := TypeInit
		if p.InitContainers[i].RestartPolicy == "Always" {
			typ = TypeSidecar
		}
		out = append(out, p.container(&p.InitContainers[i], typ))
	}
	for i := range p.Containers {
		out = append(out, p.container(&p.Containers[i], TypeContainer))
	}
	for i := range p.EphemeralContainers {
		out = append(out, p.container(&p.EphemeralContainers[i], TypeEphemeral))
	}
	return out
}

func (p *podSpec) container(c *container, typ string) Container {
	out := Container{
		Name:            c.Name,
		Type:            typ,
		Image:           c.Image,
		SecurityContext: effective(p.SecurityContext, c.SecurityContext),
	}
	if p.OS != nil {
		out.OS = p.OS.Name
	}
	return out
}

func (p *podSpec) serviceAccountName() string {
	if p.ServiceAccountName != "" {
		return p.ServiceAccountName
	}
	return p.ServiceAccount
}

// imagePullSecrets returns the secret names; an entry without a name refers
// to nothing and is left out.
func (p *podSpec) imagePullSecrets() []string {
	var names []string
	for _, s := range p.ImagePullSecrets {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	return names
}

// effective merges like the kubelet's DetermineEffectiveSecurityContext:
// field by field, the container's value when it sets one, else the pod's.
// Values are copied so that no two containers share a pointer.
func effective(pod, ctr *securityFields) SecurityContext {
	var sc SecurityContext
	for _, f := range [...]*securityFields{pod, ctr} {
		if f == nil {
			continue
		}
		if f.RunAsUser != nil {
			sc.RunAsUser = f.RunAsUser
		}
		if f.RunAsGroup != nil {
			sc.RunAsGroup = f.RunAsGroup
		}
		if f.RunAsNonRoot != nil {
			sc.RunAsNonRoot = f.RunAsNonRoot
		}
		if f.WindowsOptions != nil && f.WindowsOptions.RunAsUserName != nil {
			sc.WindowsRunAsUserName = f.WindowsOptions.RunAsUserName
		}
	}
	sc.RunAsUser = clone(sc.RunAsUser)
	sc.RunAsGroup = clone(sc.RunAsGroup)
	sc.RunAsNonRoot = clone(sc.RunAsNonRoot)
	sc.WindowsRunAsUserName = clone(sc.WindowsRunAsUserName)
	return sc
}

func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return new(*p)
}
