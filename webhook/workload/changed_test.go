package workload

import (
	"strings"
	"testing"
)

func TestChanged(t *testing.T) {
	t.Parallel()
	web := Container{Name: "web", Type: TypeContainer, Image: "web:1", SecurityContext: SecurityContext{RunAsUser: ptr[int64](1000)}}
	proxy := Container{Name: "proxy", Type: TypeSidecar, Image: "proxy:2"}
	with := func(c Container, edit func(*Container)) Container {
		edit(&c)
		return c
	}
	wl := func(cs ...Container) *Workload { return &Workload{Kind: "Deployment", Name: "web", Containers: cs} }

	for _, tc := range []struct {
		name           string
		old, new       *Workload
		containersDiff bool
	}{
		{"same", wl(proxy, web), wl(proxy, web), false},
		{"reordered", wl(proxy, web), wl(web, proxy), false},
		{"same values, other pointers", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.RunAsUser = ptr[int64](1000) })), false},
		{"metadata only", &Workload{Labels: map[string]string{"a": "1"}, Containers: []Container{web}},
			&Workload{Labels: map[string]string{"a": "2"}, Annotations: map[string]string{"b": "1"}, ServiceAccountName: "x", Containers: []Container{web}}, false},
		{"image", wl(proxy, web), wl(proxy, with(web, func(c *Container) { c.Image = "web:2" })), true},
		{"image by digest", wl(web), wl(with(web, func(c *Container) { c.Image = "web:1@sha256:" + strings.Repeat("ab", 32) })), true},
		{"renamed", wl(web), wl(with(web, func(c *Container) { c.Name = "www" })), true},
		{"type", wl(proxy), wl(with(proxy, func(c *Container) { c.Type = TypeInit })), true},
		{"added", wl(web), wl(web, proxy), true},
		{"removed", wl(web, proxy), wl(web), true},
		{"ephemeral added", wl(web), wl(web, Container{Name: "debug", Type: TypeEphemeral, Image: "busybox"}), true},
		{"swapped images", wl(web, with(web, func(c *Container) { c.Name = "b"; c.Image = "b:1" })),
			wl(with(web, func(c *Container) { c.Image = "b:1" }), with(web, func(c *Container) { c.Name = "b" })), true},
		{"multiset counts", wl(web, web, proxy), wl(web, proxy, proxy), true},
		{"runAsUser only", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.RunAsUser = ptr[int64](0) })), true},
		{"runAsUser removed", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.RunAsUser = nil })), true},
		{"runAsNonRoot only", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.RunAsNonRoot = ptr(false) })), true},
		{"windows user only", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.WindowsRunAsUserName = ptr("ContainerAdministrator") })), true},
		{"os only", wl(web), wl(with(web, func(c *Container) { c.OS = "windows" })), true},
		{"both nil", nil, nil, false},
		{"nil and empty", nil, wl(), false},
		{"created", nil, wl(web), true},
		{"deleted", wl(web), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ContainersChanged(tc.old, tc.new); got != tc.containersDiff {
				t.Errorf("ContainersChanged(%s, %s) = %t, want %t", show(tc.old), show(tc.new), got, tc.containersDiff)
			}
		})
	}
}
