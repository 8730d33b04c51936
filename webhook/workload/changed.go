package workload

// ContainersChanged reports whether the containers differ in anything the
// policy input shows of them (name, type, image, OS and the effective
// security context), ignoring order. An update for which it is false, such as
// a scale or a label change, cannot change a container's verdict.
func ContainersChanged(oldW, newW *Workload) bool {
	return differ(containersOf(oldW), containersOf(newW), containerKeyOf)
}

func containersOf(w *Workload) []Container {
	if w == nil {
		return nil
	}
	return w.Containers
}

type imageKey struct{ name, typ, image string }

func imageKeyOf(c *Container) imageKey { return imageKey{c.Name, c.Type, c.Image} }

type containerKey struct {
	imageKey
	os                   string
	runAsUser            optional[int64]
	runAsGroup           optional[int64]
	runAsNonRoot         optional[bool]
	windowsRunAsUserName optional[string]
}

func containerKeyOf(c *Container) containerKey {
	sc := &c.SecurityContext
	return containerKey{
		imageKey:             imageKeyOf(c),
		os:                   c.OS,
		runAsUser:            optionalOf(sc.RunAsUser),
		runAsGroup:           optionalOf(sc.RunAsGroup),
		runAsNonRoot:         optionalOf(sc.RunAsNonRoot),
		windowsRunAsUserName: optionalOf(sc.WindowsRunAsUserName),
	}
}

// optional compares pointed-to values, so that two decodings of the same
// object are equal.
type optional[T comparable] struct {
	set bool
	v   T
}

func optionalOf[T comparable](p *T) optional[T] {
	if p == nil {
		return optional[T]{}
	}
	return optional[T]{set: true, v: *p}
}

// differ compares a and b as multisets of key(c).
func differ[K comparable](a, b []Container, key func(*Container) K) bool {
	if len(a) != len(b) {
		return true
	}
	// The usual update keeps the order, and then needs no map.
	same := true
	for i := range a {
		if key(&a[i]) != key(&b[i]) {
			same = false
			break
		}
	}
	if same {
		return false
	}
	count := make(map[K]int, len(a))
	for i := range a {
		count[key(&a[i])]++
	}
	for i := range b {
		k := key(&b[i])
		if count[k] == 0 {
			return true
		}
		count[k]--
	}
	return false
}
