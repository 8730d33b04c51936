//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook/demo"
)

const registryBin = "/usr/bin/docker-registry"

// registry is one docker-registry (CNCF distribution) process on loopback,
// serving TLS with the test certificate, optionally behind htpasswd auth
// (which distribution applies to the whole registry, hence two instances).
type registry struct {
	cluster.Proc
	addr       string // 127.0.0.1:port: also the registry host in image references
	user, pass string // empty without auth
	pki        *cluster.PKI
}

func startRegistry(ctx context.Context, name, dir string, p *cluster.PKI, user, pass string) (*registry, error) {
	return startRegistryWithCert(ctx, name, dir, p, p.CrtFile, p.KeyFile, user, pass)
}

// startRegistryWithCert starts a registry serving the certificate in
// crtFile and keyFile (signed by p's CA), e.g. one that also names a cloud
// registry host the registry impersonates.
func startRegistryWithCert(ctx context.Context, name, dir string, p *cluster.PKI, crtFile, keyFile, user, pass string) (*registry, error) {
	addr, err := cluster.FreeAddr()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Join(root, "storage"), 0o755); err != nil {
		return nil, err
	}
	auth := ""
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		htpasswd := filepath.Join(root, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, err
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: strata-e2e\n    path: %s\n", htpasswd)
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: strata-e2e-%s
  tls:
    certificate: %s
    key: %s
%s`, filepath.Join(root, "storage"), addr, name, crtFile, keyFile, auth)
	cfgFile := filepath.Join(root, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		return nil, err
	}
	r := &registry{
		Proc: cluster.Proc{
			Name: "registry " + name, Bin: registryBin, Args: []string{"serve", cfgFile}, Log: filepath.Join(dir, "registry-"+name+".log")},
		addr: addr, user: user, pass: pass, pki: p,
	}
	if err := r.startAndWait(ctx); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// startAndWait (re)starts the process on the same address and storage.
func (r *registry) startAndWait(ctx context.Context) error {
	if err := r.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return cluster.WaitHTTP(ctx, &r.Proc, "https://"+r.addr+"/v2/", r.pki.TLSConfig(), func(code int) bool {
		return code == http.StatusOK || code == http.StatusUnauthorized
	})
}

// ref is the full reference of repoTag on this registry.
func (r *registry) ref(repoTag string) string { return r.addr + "/" + repoTag }

// pushable is what push writes: a v1.Image or a v1.ImageIndex, which
// remote.Push writes with everything they refer to.
type pushable interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}

// push writes an image or an index as repoTag and returns its digest.
func (r *registry) push(ctx context.Context, repoTag string, t pushable) (string, error) {
	ref, err := name.ParseReference(r.ref(repoTag))
	if err != nil {
		return "", err
	}
	if err := remote.Push(ref, t, r.pushOptions(ctx)...); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := t.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// pushOptions trust the registry's CA and carry its password, if any.
func (r *registry) pushOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(&http.Transport{TLSClientConfig: r.pki.TLSConfig()})}
	if r.user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.user, Password: r.pass}))
	}
	return opts
}

// family is the image family the suite runs against, as references.
type family struct {
	os, runtime, framework    string // the catalog
	good, root, deep, unknown string // applications on the public registry
	coldEnforce, coldAudit    string // tags of good never resolved before the registry stops
	coldBack                  string // a tag of good only TestRegistryBack resolves
	private                   string // an application on the private registry
}

// seed builds the family, as demo.go does, and pushes it: an OS base, a
// runtime on it, a framework on the runtime, and applications that each
// break one policy.
func seed(ctx context.Context, pub, priv *registry) (family, error) {
	b := &demo.Builder{}
	osImg := b.Image(empty.Image, "", "os root filesystem")
	runtime := b.Image(osImg, "", "runtime", "runtime libraries")
	framework := b.Image(runtime, "", "framework")
	good := b.Image(runtime, "65532", "good app")
	if b.Err != nil {
		return family{}, b.Err
	}
	pushes := []struct {
		r       *registry
		repoTag string
		img     v1.Image
	}{
		{pub, "base/os:1", osImg},
		{pub, "base/runtime:1", runtime},
		{pub, "base/framework:1", framework},
		{pub, "apps/good:1", good},
		{pub, "apps/good:cold-enforce", good},
		{pub, "apps/good:cold-audit", good},
		{pub, "apps/good:cold-back", good},
		{pub, "apps/root:1", b.Image(runtime, "", "root app")},
		{pub, "apps/deep:1", b.Image(framework, "1000", "deep app")},
		{pub, "apps/unknown:1", b.Image(b.Image(empty.Image, "", "hand-rolled root filesystem"), "1000", "unknown app")},
		{priv, "private/app:1", b.Image(runtime, "65532", "private app")},
	}
	if b.Err != nil {
		return family{}, b.Err
	}
	for _, p := range pushes {
		if _, err := p.r.push(ctx, p.repoTag, p.img); err != nil {
			return family{}, err
		}
	}
	return family{
		os: pub.ref("base/os:1"), runtime: pub.ref("base/runtime:1"), framework: pub.ref("base/framework:1"),
		good: pub.ref("apps/good:1"), root: pub.ref("apps/root:1"), deep: pub.ref("apps/deep:1"), unknown: pub.ref("apps/unknown:1"),
		coldEnforce: pub.ref("apps/good:cold-enforce"), coldAudit: pub.ref("apps/good:cold-audit"),
		coldBack: pub.ref("apps/good:cold-back"),
		private:  priv.ref("private/app:1"),
	}, nil
}
