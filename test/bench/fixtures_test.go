//go:build loadtest

package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/strata-project/strata/webhook/demo"
)

// startRegistry serves go-containerregistry's in-memory registry on a
// loopback port for the rest of the test.
func startRegistry(t *testing.T) string {
	t.Helper()
	r, err := demo.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r.Addr
}

// fixtures are the images pushed for the cold case: one OS base, runtimes
// built on it (with the OS, the catalog), and applications each built on one
// runtime.
type fixtures struct {
	host    string
	catalog []catalogImage
	// apps are the application references, and the config digest of each,
	// for the raw round-trip comparison.
	apps    []string
	configs []v1.Hash
}

type catalogImage struct{ ref, role string }

// appsPerRepo: applications are tags of a few repositories, as a registry's
// are, so that a cold image sometimes opens a new repository too.
const appsPerRepo = 10

// pushFixtures builds and pushes an OS base, runtimes runtimes on it, and
// apps applications spread over the runtimes. Every layer is small and
// random; every image but the OS claims its base in the OCI annotations, as
// buildkit writes them, so that strata verifies claims as well as layers.
func pushFixtures(ctx context.Context, host string, runtimes, apps int) (*fixtures, error) {
	fx := &fixtures{host: host}
	ref := func(repoTag string) string { return host + "/" + repoTag }
	created := v1.Time{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}

	osImg, err := image(empty.Image, 4096, "", created)
	if err != nil {
		return nil, err
	}
	osRef := ref("base/os:1")
	if _, err := push(ctx, osRef, osImg, nil); err != nil {
		return nil, err
	}
	osDigest, err := osImg.Digest()
	if err != nil {
		return nil, err
	}
	fx.catalog = append(fx.catalog, catalogImage{osRef, "os"})

	runtimeImgs := make([]v1.Image, runtimes)
	runtimeRefs := make([]string, runtimes)
	runtimeDigests := make([]v1.Hash, runtimes)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range runtimes {
		g.Go(func() error {
			img, err := image(osImg, 2048, "", created)
			if err != nil {
				return err
			}
			runtimeRefs[i] = ref(fmt.Sprintf("base/runtime-%05d:1", i))
			runtimeImgs[i], err = push(gctx, runtimeRefs[i], img, demo.Claims(osRef, osDigest.String()))
			if err != nil {
				return err
			}
			runtimeDigests[i], err = runtimeImgs[i].Digest()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, r := range runtimeRefs {
		fx.catalog = append(fx.catalog, catalogImage{r, "runtime"})
	}

	fx.apps = make([]string, apps)
	fx.configs = make([]v1.Hash, apps)
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range apps {
		g.Go(func() error {
			base := i % runtimes
			img, err := image(runtimeImgs[base], 512, "10001", created)
			if err != nil {
				return err
			}
			fx.apps[i] = ref(fmt.Sprintf("apps/app-%04d:v%05d", i/appsPerRepo, i))
			pushed, err := push(gctx, fx.apps[i], img, demo.Claims(runtimeRefs[base], runtimeDigests[base].String()))
			if err != nil {
				return err
			}
			fx.configs[i], err = pushed.ConfigName()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return fx, nil
}

// image is base with one random layer of size bytes, for linux/amd64, run
// as user.
func image(base v1.Image, size int64, user string, created v1.Time) (v1.Image, error) {
	layer, err := random.Layer(size, types.OCILayer)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "COPY . /", Created: created}})
	if err != nil {
		return nil, err
	}
	return demo.Configure(img, user, created)
}

// push writes img, with annotations, and returns the image as pushed.
func push(ctx context.Context, ref string, img v1.Image, annotations map[string]string) (v1.Image, error) {
	if annotations != nil {
		img = mutate.Annotations(img, annotations).(v1.Image)
	}
	_, err := demo.Push(ctx, ref, img, nil)
	return img, err
}
