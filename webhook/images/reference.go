package images

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// MaxReferenceLength bounds what a pod spec may put in an image field before
// strata even tries to parse it.
const MaxReferenceLength = 4096

// dockerHub is the spelling strata shows for Docker Hub; every alias of it
// (index.docker.io, registry-1.docker.io, no registry at all) becomes this.
const dockerHub = "docker.io"

// Reference is an image reference in its one canonical form. Two spellings of
// the same image (nginx, library/nginx, docker.io/library/nginx:latest,
// index.docker.io/library/nginx) produce equal References.
type Reference struct {
	// Registry is the host (and port) the image lives on, "docker.io" for Docker Hub.
	Registry string
	// Repository is the path inside the registry, e.g. "library/nginx".
	Repository string
	// Tag is the tag as written (or "latest" when none was); kept for display
	// even when a digest decides.
	Tag string
	// Digest, when set, decides which image this is: a reference with both a
	// tag and a digest is evaluated by its digest.
	Digest Digest

	ref name.Reference
}

// Name is registry/repository, the image without tag or digest.
func (r Reference) Name() string { return r.Registry + "/" + r.Repository }

// String is the canonical reference: name@digest when a digest decides,
// name:tag otherwise.
func (r Reference) String() string {
	if !r.Digest.IsZero() {
		return r.Name() + "@" + r.Digest.String()
	}
	return r.Name() + ":" + r.Tag
}

// TagString is name:tag, for showing where an image came from.
func (r Reference) TagString() string { return r.Name() + ":" + r.Tag }

// ByDigest reports whether the reference pins a digest.
func (r Reference) ByDigest() bool { return !r.Digest.IsZero() }

// WithDigest returns the same repository pinned to d; the tag is kept for display.
func (r Reference) WithDigest(d Digest) Reference {
	r.Digest = d
	r.ref = r.ref.Context().Digest(d.String())
	return r
}

// plainHTTP returns the reference marked for plain HTTP, for registries
// listed in registry.insecure; go-containerregistry otherwise only uses HTTP
// for names it recognises as local.
func (r Reference) plainHTTP() Reference {
	if ref, err := name.ParseReference(r.ref.Name(), name.Insecure); err == nil {
		r.ref = ref
	}
	return r
}

// nameRef is the go-containerregistry reference used for I/O.
func (r Reference) nameRef() name.Reference { return r.ref }

// ParseReference turns an image string, exactly as written in a pod spec, into
// its canonical Reference. It follows the container runtimes' rules for short
// names (no registry means Docker Hub, a single path element means library/),
// then validates the expanded form with go-containerregistry in strict mode.
func ParseReference(image string) (Reference, error) {
	if err := checkRawReference(image); err != nil {
		return Reference{}, err
	}
	expanded, err := expandShortName(image)
	if err != nil {
		return Reference{}, err
	}
	ref, err := name.ParseReference(expanded, name.StrictValidation)
	if err != nil {
		return Reference{}, fmt.Errorf("%q is not a valid image reference: %w", image, err)
	}
	out := Reference{
		Registry:   ref.Context().RegistryStr(),
		Repository: ref.Context().RepositoryStr(),
		Tag:        "latest",
		ref:        ref,
	}
	// go-containerregistry accepts tags the OCI distribution spec forbids
	// ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}); the runtimes would refuse them.
	if t := tagOf(expanded); t != "" && (t[0] == '.' || t[0] == '-') {
		return Reference{}, fmt.Errorf("%q is not a valid image reference: a tag cannot start with %q", image, t[0])
	}
	if out.Registry == name.DefaultRegistry {
		out.Registry = dockerHub
	}
	switch r := ref.(type) {
	case name.Tag:
		out.Tag = r.TagStr()
	case name.Digest:
		d, err := ParseDigest(r.DigestStr())
		if err != nil {
			return Reference{}, fmt.Errorf("%q: %w", image, err)
		}
		out.Digest = d
		if tag := tagOf(expanded); tag != "" {
			out.Tag = tag
		}
	}
	return out, nil
}

// checkRawReference refuses what must never reach a parser or a registry,
// each with a message that says what to write instead.
func checkRawReference(image string) error {
	if image == "" {
		return fmt.Errorf("the image reference is empty: write an image such as registry.example.com/team/app:1.0")
	}
	if len(image) > MaxReferenceLength {
		return fmt.Errorf("the image reference is %d bytes long, over the %d-byte limit", len(image), MaxReferenceLength)
	}
	for i := 0; i < len(image); i++ {
		if c := image[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("the image reference %q contains a control, space or non-ASCII character at byte %d", image, i)
		}
	}
	if isImageID(image) {
		return fmt.Errorf("%q is an image ID, not a reference a registry can resolve: write repository@sha256:<digest>", image)
	}
	if _, dgst, ok := strings.Cut(image, "@"); ok {
		if alg, _, _ := strings.Cut(dgst, ":"); alg != "sha256" {
			return fmt.Errorf("%q uses a %q digest: strata verifies sha256 digests only; pin the image by its sha256 digest", image, alg)
		}
	}
	return nil
}

// isImageID reports a bare image id: "sha256:<64 hex>" or "<64 hex>". The
// runtimes would read the second as docker.io/library/<hex>:latest, which is
// never what the author meant.
func isImageID(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

func isLowerHex(c byte) bool { return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') }

// expandShortName applies the Docker short-name rules: the first path element
// is a registry only if it contains "." or ":" or is "localhost"; Docker Hub
// images with a single path element live under library/; no tag means latest.
func expandShortName(image string) (string, error) {
	rest, dgst, hasDigest := strings.Cut(image, "@")
	domain, path, hasSlash := strings.Cut(rest, "/")
	if !hasSlash || !(strings.ContainsAny(domain, ".:") || domain == "localhost") {
		domain, path = dockerHub, rest
	}
	switch domain {
	case dockerHub, name.DefaultRegistry, "registry-1.docker.io":
		domain = name.DefaultRegistry
		if !strings.Contains(path, "/") {
			path = "library/" + path
		}
	}
	if path == "" {
		return "", fmt.Errorf("%q names a registry but no repository", image)
	}
	out := domain + "/" + path
	if !strings.Contains(path, ":") && !hasDigest {
		out += ":latest"
	}
	if hasDigest {
		out += "@" + dgst
	}
	return out, nil
}

// tagOf returns the tag of an expanded "registry/repo[:tag]@digest" string.
func tagOf(expanded string) string {
	rest, _, _ := strings.Cut(expanded, "@")
	_, path, _ := strings.Cut(rest, "/")
	_, tag, _ := strings.Cut(path, ":")
	return tag
}
