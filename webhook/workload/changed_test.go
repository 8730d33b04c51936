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
		name                   string
		old, new               *Workload
		images, containersDiff bool
	}{
		{"same", wl(proxy, web), wl(proxy, web), false, false},
		{"reordered", wl(proxy, web), wl(web, proxy), false, false},
		{"same values, other pointers", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.RunAsUser = ptr[int64](1000) })), false, false},
		{"metadata only", &Workload{Labels: map[string]string{"a": "1"}, Containers: []Container{web}},
			&Workload{Labels: map[string]string{"a": "2"}, Annotations: map[string]string{"b": "1"}, ServiceAccountName: "x", Containers: []Container{web}}, false, false},
		{"image", wl(proxy, web), wl(proxy, with(web, func(c *Container) { c.Image = "web:2" })), true, true},
		{"image by digest", wl(web), wl(with(web, func(c *Container) { c.Image = "web:1@sha256:" + strings.Repeat("ab", 32) })), true, true},
		{"renamed", wl(web), wl(with(web, func(c *Container) { c.Name = "www" })), true, true},
		{"type", wl(proxy), wl(with(proxy, func(c *Container) { c.Type = TypeInit })), true, true},
		{"added", wl(web), wl(web, proxy), true, true},
		{"removed", wl(web, proxy), wl(web), true, true},
		{"ephemeral added", wl(web), wl(web, Container{Name: "debug", Type: TypeEphemeral, Image: "busybox"}), true, true},
		{"swapped images", wl(web, with(web, func(c *Container) { c.Name = "b"; c.Image = "b:1" })),
			wl(with(web, func(c *Container) { c.Image = "b:1" }), with(web, func(c *Container) { c.Name = "b" })), true, true},
		{"multiset counts", wl(web, web, proxy), wl(web, proxy, proxy), true, true},
		{"runAsUser only", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.RunAsUser = ptr[int64](0) })), false, true},
		{"runAsUser removed", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.RunAsUser = nil })), false, true},
		{"runAsNonRoot only", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.RunAsNonRoot = ptr(false) })), false, true},
		{"windows user only", wl(web), wl(with(web, func(c *Container) { c.SecurityContext.WindowsRunAsUserName = ptr("ContainerAdministrator") })), false, true},
		{"os only", wl(web), wl(with(web, func(c *Container) { c.OS = "windows" })), false, true},
		{"both nil", nil, nil, false, false},
		{"nil and empty", nil, wl(), false, false},
		{"created", nil, wl(web), true, true},
		{"deleted", wl(web), nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ImagesChanged(tc.old, tc.new); got != tc.images {
				t.Errorf("ImagesChanged(%s, %s) = %t, want %t", show(tc.old), show(tc.new), got, tc.images)
			}
			if got := ContainersChanged(tc.old, tc.new); got != tc.containersDiff {
				t.Errorf("ContainersChanged(%s, %s) = %t, want %t", show(tc.old), show(tc.new), got, tc.containersDiff)
			}
		})
	}
}
