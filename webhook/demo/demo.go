// Package demo serves a small family of images from an in-process registry,
// so that strata can be tried without a cluster or the internet: an OS base,
// a runtime built on it, and applications that each show one policy at work.
package demo

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image is one image of the demo family.
type Image struct {
	// Repo is the repository and tag, e.g. "demo/shop-web:1.0".
	Repo string
	// Role is the lineage role it plays in the family: os, runtime, framework or app.
	Role string
	// Shows says what the image demonstrates.
	Shows string
}

// Family lists the demo images in the order they are built.
var Family = []Image{
	{"base/debian:12", "os", "the approved OS base; its tag was re-pointed to a patched build"},
	{"base/debian:12.7", "os", "the dated tag of the build base/debian:12 pointed to before the patch"},
	{"base/temurin:21", "runtime", "a language runtime built on base/debian:12"},
	{"base/temurin:21.0.4", "runtime", "the dated tag of the runtime's build on the unpatched base"},
	{"base/spring:3", "framework", "a framework built on the runtime: one level too many"},
	{"shop/web:1.0", "app", "a compliant application: non-root, on the approved base, three levels"},
	{"shop/admin:1.0", "app", "an application that runs as root"},
	{"shop/report:1.0", "app", "an application four levels deep (OS, runtime, framework, app)"},
	{"shop/legacy:1.0", "app", "an application on a base image nobody knows"},
	{"shop/billing:1.0", "app", "an application built on the old, unpatched base/debian:12"},
}

// Host is the name the demo registry's images go by, whatever port it
// listens on: resolvers map it to Addr (images.Options.Hosts), so examples
// can name images such as strata-demo.local/shop/web:1.0.
const Host = "strata-demo.local"

// Registry is a running demo registry.
type Registry struct {
	// Host is the name its images go by: always demo.Host.
	Host string
	// Addr is the loopback host:port it listens on.
	Addr   string
	server *http.Server
}

// Start serves a registry on a loopback port and pushes the family to it.
func Start(ctx context.Context) (*Registry, error) {
	r, err := Listen(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.seed(ctx); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("seeding the demo registry: %w", err)
	}
	return r, nil
}

// Listen serves an empty registry on a loopback port: go-containerregistry's
// in-memory registry, its log discarded. The benchmarks push their own
// images to it.
func Listen(ctx context.Context) (*Registry, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the demo registry: %w", err)
	}
	srv := &http.Server{
		Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("demo registry stopped: %v", err)
		}
	}()
	return &Registry{Host: Host, Addr: ln.Addr().String(), server: srv}, nil
}

// Close stops the registry.
func (r *Registry) Close() error { return r.server.Close() }

// Ref returns the full reference of a demo repository:tag.
func (r *Registry) Ref(repoTag string) string { return r.Host + "/" + repoTag }

// seed builds the family as it happened: billing was built on the first
// build of the runtime, then the OS base got a security update and
// everything else was built on the patched one. Layers are small
// deterministic tarballs; claims are written as buildkit writes them.
func (r *Registry) seed(ctx context.Context) error {
	b := &builder{ctx: ctx, reg: r}
	debianOld := b.Image(empty.Image, "", "debian 12.7 root filesystem")
	debianOldDigest := b.push("base/debian:12", debianOld, nil)
	// Dated tags keep the old builds in the catalog: strata names a base only
	// by tags it saw point to it, and it starts watching after the patch.
	b.push("base/debian:12.7", debianOld, nil)
	temurinOld := b.Image(debianOld, "", "temurin 21 JDK", "temurin 21 cacerts", "temurin 21 fonts")
	temurinOldDigest := b.push("base/temurin:21", temurinOld, b.claims("base/debian:12", debianOldDigest))
	b.push("base/temurin:21.0.4", temurinOld, b.claims("base/debian:12", debianOldDigest))
	b.push("shop/billing:1.0", b.Image(temurinOld, "10001", "billing service", "billing config"), b.claims("base/temurin:21", temurinOldDigest))

	debian := b.Image(empty.Image, "", "debian 12.8 root filesystem (security update)")
	debianDigest := b.push("base/debian:12", debian, nil)
	temurin := b.Image(debian, "", "temurin 21 JDK", "temurin 21 cacerts", "temurin 21 fonts")
	temurinDigest := b.push("base/temurin:21", temurin, b.claims("base/debian:12", debianDigest))
	spring := b.Image(temurin, "", "spring boot 3 libraries", "spring boot 3 launcher")
	springDigest := b.push("base/spring:3", spring, b.claims("base/temurin:21", temurinDigest))
	b.push("shop/web:1.0", b.Image(temurin, "65532", "web shop", "web shop assets"), b.claims("base/temurin:21", temurinDigest))
	b.push("shop/admin:1.0", b.Image(temurin, "", "admin console", "admin console assets"), b.claims("base/temurin:21", temurinDigest))
	b.push("shop/report:1.0", b.Image(spring, "1000", "reporting service"), b.claims("base/spring:3", springDigest))
	b.push("shop/legacy:1.0", b.Image(b.Image(empty.Image, "", "a hand-rolled root filesystem"), "1000", "legacy service"), nil)
	return b.Err
}

// builder is seed's Builder, pushing to the demo registry.
type builder struct {
	Builder
	ctx context.Context
	reg *Registry
}

// Builder builds a family of images with BuildImage, keeping the first
// error, so that the code building them reads as the family's history. The
// demo, the graph's test family and the end-to-end suite build with it.
type Builder struct {
	// Err is the first error; from then on Image returns its base.
	Err error
}

// Image appends to base one layer per content string, each a file saying
// what it is, and sets the user (BuildImage).
func (b *Builder) Image(base v1.Image, user string, contents ...string) v1.Image {
	if b.Err != nil {
		return base
	}
	img, err := BuildImage(base, user, contents...)
	if err != nil {
		b.Err = err
		return base
	}
	return img
}

// BuildImage appends to base one small, deterministic layer per content
// string (a file saying what it is) and sets the config's USER: the same
// inputs always give the same digest. The end-to-end suite builds its
// image family with it too.
func BuildImage(base v1.Image, user string, contents ...string) (v1.Image, error) {
	img := base
	for _, content := range contents {
		layer, err := tarLayer("/etc/strata-demo/"+strings.ReplaceAll(content, " ", "-"), content)
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:     layer,
			History:   v1.History{CreatedBy: "COPY " + content, Created: v1.Time{Time: demoTime}},
			MediaType: types.OCILayer,
		})
		if err != nil {
			return nil, err
		}
	}
	return Configure(img, user, v1.Time{Time: demoTime})
}

// Configure gives img the config every demo and benchmark image has: built
// for linux/amd64 at created, run as user, the usual PATH, and OCI media
// types for its config and manifest.
func Configure(img v1.Image, user string, created v1.Time) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", "amd64", created
	cf.Config.User = user
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	return mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1), nil
}

// claims returns the OCI base annotations naming repoTag at digest.
func (b *builder) claims(repoTag, digest string) map[string]string {
	return Claims(b.reg.Ref(repoTag), digest)
}

// Claims are the OCI base annotations naming ref at digest, as buildkit
// writes them.
func Claims(ref, digest string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.base.name":   ref,
		"org.opencontainers.image.base.digest": digest,
	}
}

// push writes img with its annotations and returns the pushed digest.
func (b *builder) push(repoTag string, img v1.Image, annotations map[string]string) string {
	if b.Err != nil {
		return ""
	}
	d, err := Push(b.ctx, b.reg.Addr+"/"+repoTag, img, annotations)
	b.Err = err
	return d
}

// Push writes img, with annotations when there are any, to ref on a
// plain-HTTP registry (an in-process one) and returns its digest. The
// end-to-end suite and graph's test family push with it too.
func Push(ctx context.Context, ref string, img v1.Image, annotations map[string]string) (string, error) {
	if annotations != nil {
		img = mutate.Annotations(img, annotations).(v1.Image)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// demoTime is the build time of every demo image, fixed for stable digests.
var demoTime = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

func tarLayer(path, content string) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: path, Mode: 0o644, Size: int64(len(content)), ModTime: demoTime, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
}
