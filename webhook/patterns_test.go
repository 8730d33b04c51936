package webhook

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-project/strata/webhook/input/inputtest"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// step is one build step as `docker buildx build` records it in the image
// config's history. A step that is not empty makes one small, real gzipped
// tar layer; declared, when set, is the size its manifest descriptor claims
// instead (a 600 MiB layer without 600 MiB of memory: strata reads sizes
// from the manifest, never a layer blob).
type step struct {
	createdBy string
	empty     bool
	declared  int64
}

func run(cmd string) step  { return step{createdBy: "RUN /bin/sh -c " + cmd + " # buildkit"} }
func copyOf(s string) step { return step{createdBy: "COPY " + s + " # buildkit"} }
func meta(s string) step   { return step{createdBy: s, empty: true} }

// declaredSize is a layer whose descriptor claims size bytes.
type declaredSize struct {
	v1.Layer
	size int64
}

func (l declaredSize) Size() (int64, error) { return l.size, nil }

// buildOn appends steps to base as a builder does: a layer per step that
// makes one, and the history of every step, empty ones included.
func buildOn(t *testing.T, base v1.Image, steps ...step) v1.Image {
	t.Helper()
	img := base
	for _, s := range steps {
		if s.empty {
			continue
		}
		layer, err := random.Layer(64, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if s.declared > 0 {
			layer = declaredSize{Layer: layer, size: s.declared}
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer}); err != nil {
			t.Fatal(err)
		}
	}
	baseConfig, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	img = imagetest.WithConfig(t, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", "amd64"
		cf.History = slices.Clone(baseConfig.History)
		for _, s := range steps {
			cf.History = append(cf.History, v1.History{CreatedBy: s.createdBy, EmptyLayer: s.empty})
		}
	})
	return mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1)
}

// patternRegistry is an in-process registry that records the blobs read
// from it, with the bases and applications of TestPatternPolicies pushed.
type patternRegistry struct {
	host string
	mu   sync.Mutex
	// blobGETs are the digests of the blobs GET from it after seeding.
	blobGETs []string
	seeded   bool
}

func (r *patternRegistry) push(t *testing.T, repoTag string, img v1.Image) {
	t.Helper()
	imagetest.Push(t, r.host+"/"+repoTag, img)
}

// TestPatternPolicies builds images the way real Dockerfiles do, on bases
// modelled on the official images (their history steps included), pushes
// them to a registry, and checks each through the real pipeline: the input
// carries the layer sizes and history the pattern policies need (and matches
// the schema), and the policies find what each build deserves.
func TestPatternPolicies(t *testing.T) {
	t.Parallel()
	reg := &patternRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		reg.mu.Lock()
		if reg.seeded && req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/") {
			reg.blobGETs = append(reg.blobGETs, req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:])
		}
		reg.mu.Unlock()
		inner.ServeHTTP(rw, req)
	}))
	t.Cleanup(srv.Close)
	reg.host = strings.TrimPrefix(srv.URL, "http://")

	debian := buildOn(t, empty.Image, step{createdBy: "# debian.sh --arch 'amd64' out/ 'bookworm' '@1730678400'"}, meta(`CMD ["bash"]`))
	golang := buildOn(t, debian,
		run("set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates curl gnupg netbase sq wget; rm -rf /var/lib/apt/lists/*"),
		run("set -eux; apt-get update; apt-get install -y --no-install-recommends g++ gcc libc6-dev make pkg-config; rm -rf /var/lib/apt/lists/*"),
		meta("ENV GOLANG_VERSION=1.23.3"),
		meta("ENV GOPATH=/go"),
		copyOf("/target/ /"),
		run(`mkdir -p "$GOPATH/src" "$GOPATH/bin" && chmod -R 1777 "$GOPATH"`),
		meta("WORKDIR /go"),
	)
	static := buildOn(t, empty.Image, step{createdBy: "bazel build @distroless//static:static_root_amd64_debian12"})
	node := buildOn(t, debian,
		run("groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node"),
		meta("ENV NODE_VERSION=22.11.0"),
		run(`ARCH= && dpkgArch="$(dpkg --print-architecture)" && set -ex && apt-get update && apt-get install -y ca-certificates curl wget gnupg dirmngr xz-utils libatomic1 --no-install-recommends && apt-mark auto '.*' > /dev/null && apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false && node --version && npm --version`),
		copyOf("docker-entrypoint.sh /usr/local/bin/"),
		meta(`ENTRYPOINT ["docker-entrypoint.sh"]`),
		meta(`CMD ["node"]`),
	)
	for repoTag, img := range map[string]v1.Image{"library/debian:12": debian, "library/golang:1.23": golang, "distroless/static-debian12:nonroot": static, "library/node:22-bookworm-slim": node} {
		reg.push(t, repoTag, img)
	}

	// FROM golang:1.23 / WORKDIR /src / COPY go.mod go.sum ./ / RUN go mod download / COPY . . / RUN go build
	goSingle := buildOn(t, golang, step{createdBy: "WORKDIR /src"}, copyOf("go.mod go.sum ./"), run("go mod download"), copyOf(". ."),
		run("CGO_ENABLED=0 go build -o /usr/local/bin/app ./cmd/app"), meta(`ENTRYPOINT ["/usr/local/bin/app"]`))
	// The same in two stages: the final stage copies the binary onto distroless.
	goMulti := buildOn(t, static, copyOf("/out/app /app"), meta("USER 65532:65532"), meta(`ENTRYPOINT ["/app"]`))
	nodeNPM := buildOn(t, node, step{createdBy: "WORKDIR /app"}, copyOf("package.json package-lock.json ./"), run("npm install"), copyOf(". ."), meta(`CMD ["node", "server.js"]`))
	var tiny []step
	for i := range 45 {
		tiny = append(tiny, copyOf("conf.d/"+strings.Repeat("x", i%7)+" /etc/app/"))
	}
	tiny45 := buildOn(t, debian, tiny...)
	huge := buildOn(t, debian, step{createdBy: "COPY model.bin /models/ # buildkit", declared: 600 << 20}, meta("USER 65532"))
	// The registry gets the 600 MiB layer's real (small) blob first, so that
	// pushing the manifest that declares 600 MiB uploads nothing.
	hugeLayers, err := huge.Layers()
	if err != nil {
		t.Fatal(err)
	}
	hugeRepo, err := name.NewRepository(reg.host+"/shop/huge", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteLayer(hugeRepo, hugeLayers[1].(declaredSize).Layer, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	apps := map[string]v1.Image{"shop/go-single:1.0": goSingle, "shop/go-multi:1.0": goMulti, "shop/node-npm:1.0": nodeNPM, "shop/tiny45:1.0": tiny45, "shop/huge:1.0": huge}
	for repoTag, img := range apps {
		reg.push(t, repoTag, img)
	}

	cfg := DefaultConfig()
	cfg.Registry.Insecure = []string{reg.host}
	cfg.Catalog.Images = []CatalogImage{
		{Ref: reg.host + "/library/debian:12", Role: "os"},
		{Ref: reg.host + "/library/golang:1.23", Role: "runtime"},
		{Ref: reg.host + "/distroless/static-debian12:nonroot", Role: "os"},
		{Ref: reg.host + "/library/node:22-bookworm-slim", Role: "runtime"},
	}
	// This registry's golang is a toolchain image, as docker.io's is by
	// default: the built-in go entry is replaced by name.
	cfg.Policies.Data = map[string]any{"buildTools": map[string]any{"go": map[string]any{
		"match":  `\bgo (build|install|mod download|generate)\b`,
		"images": []any{reg.host + "/library/golang:*"},
	}}}
	p, err := NewPipeline(t.Context(), cfg, PipelineOptions{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatalf("NewPipeline() = %v", err)
	}
	t.Cleanup(p.Close)
	if err := p.LoadCatalog(t.Context()); err != nil {
		t.Fatalf("LoadCatalog() = %v", err)
	}
	reg.mu.Lock()
	reg.seeded = true
	reg.mu.Unlock()
	inputSchema := inputtest.Schema(t)

	for _, tc := range []struct {
		repoTag string
		// want are the pattern policies' messages, each by a part of it.
		want map[string][]string
		// baseLayers is the layer count of the image's direct base.
		baseLayers int
	}{
		{"shop/go-single:1.0", map[string][]string{"single-stage-build": {
			`go ran "go build"; go ran "go mod download"; go: built on ` + reg.host + `/library/golang:1.23`,
		}}, 5},
		{"shop/go-multi:1.0", nil, 1},
		{"shop/node-npm:1.0", map[string][]string{"single-stage-build": {`npm-dev-dependencies ran "npm install"`}}, 4},
		{"shop/tiny45:1.0", map[string][]string{
			"lineage-depth":    {"has 46 layers > 40"},
			"layer-efficiency": {"adds 45 layers on top of " + reg.host + "/library/debian:12 > maxAppLayers 10"},
		}, 1},
		{"shop/huge:1.0", map[string][]string{"image-size": {
			`is 600.0 MiB compressed > maxImageSize 500.0 MiB (base ` + reg.host + `/library/debian:12: `,
		}}, 1},
	} {
		t.Run(tc.repoTag, func(t *testing.T) {
			rec := &recorder{next: p.Engine}
			opts := p.Checker.opts
			opts.Evaluator = rec
			c := NewChecker(opts)
			raw := []byte(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": "shop"}, "spec": {"securityContext": {"runAsNonRoot": true, "runAsUser": 1000}, "containers": [{"name": "app", "image": "` + reg.host + "/" + tc.repoTag + `"}]}}`)
			w, err := workload.Decode(schema.GroupKind{Kind: "Pod"}, raw)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, v := range c.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w) {
				got[v.Policy] = append(got[v.Policy], v.Msg)
			}
			if len(got) != len(tc.want) {
				t.Errorf("Check(%s) violates %v, want the policies of %v", tc.repoTag, got, tc.want)
			}
			for id, parts := range tc.want {
				if len(got[id]) != len(parts) {
					t.Errorf("Check(%s): %s says %q, want %d messages containing %q", tc.repoTag, id, got[id], len(parts), parts)
					continue
				}
				for i, part := range parts {
					if !strings.Contains(got[id][i], part) {
						t.Errorf("Check(%s): %s says %q, want it to contain %q", tc.repoTag, id, got[id][i], part)
					}
				}
			}
			if len(rec.seen) != 1 {
				t.Fatalf("the pipeline built %d inputs, want 1", len(rec.seen))
			}
			checkPatternInput(t, inputSchema, rec.seen[0], apps[tc.repoTag], tc.baseLayers)
		})
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	big, err := hugeLayers[1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(reg.blobGETs, big.String()) {
		t.Errorf("strata read the blob of the 600 MiB layer (blob GETs: %v); sizes come from the manifest", reg.blobGETs)
	}
}

// checkPatternInput checks that the input matches the schema and carries
// the manifest's layer sizes, the base's share of them and the history with
// the layer each step made, as the pattern policies read them.
func checkPatternInput(t *testing.T, s *jsonschema.Schema, in policy.Value, img v1.Image, baseLayers int) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(in.String()))
	if err != nil {
		t.Fatalf("the input is not JSON: %v", err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("the input does not match input.schema.json: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	image := in.(ast.Object).Get(ast.StringTerm("image")).Value.(ast.Object)
	field := func(key string) ast.Value { return image.Get(ast.StringTerm(key)).Value }
	var sizes []*ast.Term
	var total, base int64
	for i, l := range m.Layers {
		sizes = append(sizes, ast.IntNumberTerm(int(l.Size)))
		total += l.Size
		if i < baseLayers {
			base += l.Size
		}
	}
	if got, want := field("layerSizes"), ast.NewArray(sizes...); got.Compare(want) != 0 {
		t.Errorf("input.image.layerSizes = %v, want the manifest's %v", got, want)
	}
	if got, want := field("size"), ast.IntNumberTerm(int(total)).Value; got.Compare(want) != 0 {
		t.Errorf("input.image.size = %v, want %v", got, want)
	}
	if got, want := field("baseSize"), ast.IntNumberTerm(int(base)).Value; got.Compare(want) != 0 {
		t.Errorf("input.image.baseSize = %v, want the first %d layers' %v", got, baseLayers, want)
	}
	history := field("history").(*ast.Array)
	if history.Len() != len(cf.History) {
		t.Fatalf("input.image.history has %d steps, want the config's %d", history.Len(), len(cf.History))
	}
	layer := 0
	for i, h := range cf.History {
		got := history.Elem(i).Value.(ast.Object)
		if by := got.Get(ast.StringTerm("createdBy")).Value; by.Compare(ast.String(h.CreatedBy)) != 0 {
			t.Errorf("history[%d].createdBy = %v, want %q", i, by, h.CreatedBy)
		}
		index := got.Get(ast.StringTerm("layer"))
		switch {
		case h.EmptyLayer && index != nil:
			t.Errorf("history[%d] (%s) made no layer, but the input says layer %v", i, h.CreatedBy, index)
		case !h.EmptyLayer && (index == nil || index.Value.Compare(ast.IntNumberTerm(layer).Value) != 0):
			t.Errorf("history[%d] (%s) made layer %d, but the input says %v", i, h.CreatedBy, layer, index)
		}
		if !h.EmptyLayer {
			layer++
		}
	}
}
