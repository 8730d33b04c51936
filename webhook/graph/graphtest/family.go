// Package graphtest builds the fixed image family the graph's golden tests
// and the page's browser test draw: three bases (one whose tag moved), ten
// applications, look-alike bases, and workloads in two namespaces, served
// by in-process registries under fixed host names so that every digest and
// name is the same on every run.
package graphtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"path"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/strata-project/strata/policies"
	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// The registries' names; resolvers dial the in-process servers instead.
const (
	Host       = "registry.family.test"
	MirrorHost = "mirror.family.test"
)

// The names the tests ask about.
const (
	// Debian is the OS base whose tag was re-pointed to a patched build.
	Debian = Host + "/base/debian:12"
	// DebianDated is the dated tag of the build Debian pointed to before.
	DebianDated = Host + "/base/debian:12.7"
	// DebianSlim and MirrorDebian are look-alikes of Debian: another
	// repository, another registry.
	DebianSlim   = Host + "/base/debian-slim:12"
	MirrorDebian = MirrorHost + "/base/debian:12"
	Temurin      = Host + "/base/temurin:21"
)

// Catalog is the family's catalog: the bases and their roles.
var Catalog = []lineage.CatalogImage{
	{Ref: Debian, Role: "os"},
	{Ref: DebianDated, Role: "os"},
	{Ref: DebianSlim, Role: "os"},
	{Ref: MirrorDebian, Role: "os"},
	{Ref: Temurin, Role: "runtime"},
}

// Family is the running family: its registries and a Checker over them.
type Family struct {
	Checker *webhook.Checker
	// Objects are the family's workloads, in two namespaces (shop and ops).
	Objects  []inventory.Object
	servers  []*httptest.Server
	resolver *images.Resolver
}

// Close stops the registries and the resolver's connections.
func (f *Family) Close() {
	if f.resolver != nil {
		f.resolver.Close()
	}
	for _, s := range f.servers {
		s.Close()
	}
}

// Start serves the family, loads its catalog and returns a Checker whose
// policies are the built-in ones, with base/debian:* approved.
func Start(ctx context.Context) (_ *Family, err error) {
	f := &Family{}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	main := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	mirror := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	f.servers = append(f.servers, main, mirror)
	addrs := map[string]string{
		Host:       strings.TrimPrefix(main.URL, "http://"),
		MirrorHost: strings.TrimPrefix(mirror.URL, "http://"),
	}
	if err := seed(ctx, addrs); err != nil {
		return nil, fmt.Errorf("seeding the family: %w", err)
	}
	if f.resolver, err = images.NewResolver(images.Options{
		Hosts: addrs, Insecure: []string{Host, MirrorHost}, Keychain: authn.NewMultiKeychain(),
	}); err != nil {
		return nil, err
	}
	catalog, err := lineage.NewCatalog(f.resolver, f.resolver, lineage.Options{Images: Catalog})
	if err != nil {
		return nil, err
	}
	if err := catalog.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("loading the family's catalog: %w", err)
	}
	engine, err := policy.New(ctx, policy.Options{
		Builtins: policies.FS,
		Data:     map[string]any{"approvedBases": []any{Host + "/base/debian:*"}},
	})
	if err != nil {
		return nil, err
	}
	f.Checker = webhook.NewChecker(webhook.CheckerOptions{Resolver: f.resolver, Lineage: catalog, Evaluator: engine})
	f.Objects = objects()
	return f, nil
}

// Inventory builds the family's inventory in mode, for a test: the
// registries stop when the test ends.
func Inventory(t testing.TB, mode policy.Action) *inventory.Inventory {
	t.Helper()
	f, err := Start(t.Context())
	if err != nil {
		t.Fatalf("graphtest.Start() = %v", err)
	}
	t.Cleanup(f.Close)
	inv, err := inventory.Build(t.Context(), f.Objects, inventory.Options{Checker: f.Checker, Mode: mode})
	if err != nil {
		t.Fatalf("inventory.Build() = %v", err)
	}
	return inv
}

// seed builds the family as it happened: billing and ledger were built on
// debian:12 before its security update; the tag then moved, and the
// runtime and the other applications were built on the patched build.
// Layers are small deterministic tarballs (demo.BuildImage), so digests
// never change.
func seed(ctx context.Context, addrs map[string]string) error {
	s := &seeder{ctx: ctx, addrs: addrs}
	debianOld := s.Image(empty.Image, "", "debian 12.7 root filesystem")
	debianOldDigest := s.push(Debian, debianOld, nil)
	s.push(DebianDated, debianOld, nil)
	s.push(Host+"/shop/billing:1.0", s.Image(debianOld, "10001", "billing service"), demo.Claims(Debian, debianOldDigest))
	s.push(Host+"/shop/ledger:1.0", s.Image(debianOld, "10001", "ledger service"), demo.Claims(Debian, debianOldDigest))

	debian := s.Image(empty.Image, "", "debian 12.8 root filesystem (security update)")
	debianDigest := s.push(Debian, debian, nil)
	temurin := s.Image(debian, "", "temurin 21 JDK", "temurin 21 cacerts")
	temurinDigest := s.push(Temurin, temurin, demo.Claims(Debian, debianDigest))
	s.push(Host+"/shop/web:1.0", s.Image(temurin, "65532", "web shop"), demo.Claims(Temurin, temurinDigest))
	s.push(Host+"/shop/cart:1.0", s.Image(temurin, "65532", "cart service"), demo.Claims(Temurin, temurinDigest))
	s.push(Host+"/shop/admin:1.0", s.Image(temurin, "", "admin console"), demo.Claims(Temurin, temurinDigest))
	s.push(Host+"/shop/search:2.0", s.Image(debian, "1000", "search service"), demo.Claims(Debian, debianDigest))

	slim := s.Image(empty.Image, "", "debian 12 slim root filesystem")
	slimDigest := s.push(DebianSlim, slim, nil)
	s.push(Host+"/ops/metrics:1.0", s.Image(slim, "1000", "metrics agent"), demo.Claims(DebianSlim, slimDigest))
	s.push(Host+"/ops/logs:1.0", s.Image(slim, "1000", "log shipper"), demo.Claims(DebianSlim, slimDigest))

	mirrorDebian := s.Image(empty.Image, "", "debian 12 root filesystem, mirrored")
	mirrorDigest := s.push(MirrorDebian, mirrorDebian, nil)
	s.push(Host+"/ops/backup:1.0", s.Image(mirrorDebian, "1000", "backup job"), demo.Claims(MirrorDebian, mirrorDigest))
	s.push(Host+"/ops/legacy:1.0", s.Image(s.Image(empty.Image, "", "a hand-rolled root filesystem"), "1000", "legacy service"), nil)
	return s.Err
}

// objects are the family's workloads: one image run by workloads in both
// namespaces, one workload running two images, and one whose image does
// not exist.
func objects() []inventory.Object {
	return []inventory.Object{
		object("shop", "Deployment", "web", "shop/web:1.0"),
		object("shop", "Deployment", "storefront", "shop/web:1.0", "shop/cart:1.0"),
		object("shop", "Deployment", "admin", "shop/admin:1.0"),
		object("shop", "Deployment", "search", "shop/search:2.0"),
		object("shop", "CronJob", "billing", "shop/billing:1.0"),
		object("shop", "StatefulSet", "ledger", "shop/ledger:1.0"),
		object("ops", "DaemonSet", "metrics", "ops/metrics:1.0"),
		object("ops", "Deployment", "logs", "ops/logs:1.0"),
		object("ops", "CronJob", "backup", "ops/backup:1.0"),
		object("ops", "Deployment", "legacy", "ops/legacy:1.0"),
		object("ops", "Deployment", "web-canary", "shop/web:1.0"),
		object("ops", "Deployment", "broken", "ops/missing:1.0"),
	}
}

func object(ns, kind, name string, imgs ...string) inventory.Object {
	w := &workload.Workload{Kind: kind, Namespace: ns, Name: name}
	for _, img := range imgs {
		c, _, _ := strings.Cut(path.Base(img), ":")
		w.Containers = append(w.Containers, workload.Container{Name: c, Type: workload.TypeContainer, Image: Host + "/" + img})
	}
	return inventory.Object{Workload: w, APIVersion: "apps/v1", UID: ns + "-" + name, Pods: 1}
}

// claims are the OCI base annotations naming ref at digest, as buildkit
// writes them.

// seeder keeps the first error, so that seed reads as the family's history.
type seeder struct {
	demo.Builder
	ctx   context.Context
	addrs map[string]string
}

// push writes img under ref, on the server that serves ref's host, and
// returns its digest.
func (s *seeder) push(ref string, img v1.Image, annotations map[string]string) string {
	if s.Err != nil {
		return ""
	}
	host, repo, _ := strings.Cut(ref, "/")
	addr, ok := s.addrs[host]
	if !ok {
		s.Err = errors.New("no registry serves " + ref)
		return ""
	}
	d, err := demo.Push(s.ctx, addr+"/"+repo, img, annotations)
	if err != nil {
		s.Err = fmt.Errorf("%s: %w", ref, err)
	}
	return d
}
