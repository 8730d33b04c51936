package images

import (
	"strings"
	"testing"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseReferenceCanonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{"nginx", "docker.io/library/nginx:latest"},
		{"nginx:1.27", "docker.io/library/nginx:1.27"},
		{"library/nginx", "docker.io/library/nginx:latest"},
		{"docker.io/nginx", "docker.io/library/nginx:latest"},
		{"docker.io/library/nginx", "docker.io/library/nginx:latest"},
		{"index.docker.io/library/nginx", "docker.io/library/nginx:latest"},
		{"index.docker.io/nginx:1.27", "docker.io/library/nginx:1.27"},
		{"registry-1.docker.io/library/nginx", "docker.io/library/nginx:latest"},
		{"bitnami/redis:7", "docker.io/bitnami/redis:7"},
		{"docker.io.evil.com/library/nginx", "docker.io.evil.com/library/nginx:latest"},
		{"evil.com/docker.io/library/nginx", "evil.com/docker.io/library/nginx:latest"},
		{"localhost/app", "localhost/app:latest"},
		{"localhost:5000/app:v1", "localhost:5000/app:v1"},
		{"registry.example.com/shop/web:1.2", "registry.example.com/shop/web:1.2"},
		{"registry.example.com:443/shop/web", "registry.example.com:443/shop/web:latest"},
		{"nginx@sha256:" + hex64, "docker.io/library/nginx@sha256:" + hex64},
		{"nginx:1.27@sha256:" + hex64, "docker.io/library/nginx@sha256:" + hex64},
		{"registry.example.com/a/b/c:tag@sha256:" + hex64, "registry.example.com/a/b/c@sha256:" + hex64},
	} {
		got, err := ParseReference(tc.in)
		if err != nil {
			t.Errorf("ParseReference(%q) error: %v", tc.in, err)
			continue
		}
		if got.String() != tc.want {
			t.Errorf("ParseReference(%q) = %q, want %q", tc.in, got.String(), tc.want)
		}
		if got.nameRef().Name() != strings.Replace(tc.want, "docker.io/", "index.docker.io/", 1) &&
			!strings.HasPrefix(tc.want, "docker.io.evil") && strings.HasPrefix(tc.want, "docker.io/") {
			t.Errorf("ParseReference(%q).nameRef() = %q, want the Docker Hub registry", tc.in, got.nameRef().Name())
		}
	}
}

func TestParseReferenceKeepsTagWithDigest(t *testing.T) {
	t.Parallel()
	ref, err := ParseReference("registry.example.com/shop/web:1.2@sha256:" + hex64)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Tag != "1.2" || !ref.ByDigest() || ref.Digest.String() != "sha256:"+hex64 {
		t.Errorf("ParseReference(tag@digest) = tag %q digest %q, want tag 1.2 and the digest", ref.Tag, ref.Digest)
	}
}

func TestParseReferenceRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, wantMsg string
	}{
		{"empty", "", "empty: write an image such as"},
		{"sha512 digest", "nginx@sha512:" + hex64 + hex64, "sha256 digests only; pin the image by its sha256 digest"},
		{"bare image id with algorithm", "sha256:" + hex64, "image ID, not a reference a registry can resolve: write repository@sha256:<digest>"},
		{"bare image id", hex64, "image ID, not a reference a registry can resolve: write repository@sha256:<digest>"},
		{"newline", "nginx\n:latest", "control"},
		{"space", "nginx latest", "control"},
		{"nul", "nginx\x00", "control"},
		{"non-ascii", "ngínx", "non-ASCII"},
		{"too long", "registry.example.com/" + strings.Repeat("a/", 2100) + "x", "limit"},
		{"uppercase repository", "registry.example.com/Shop/web", "valid image reference"},
		{"registry without repository", "registry.example.com/", "no repository"},
		{"bad digest", "nginx@sha256:abc", "valid image reference"},
		{"tag starting with -", "nginx:-bad", "a tag cannot start with '-'"},
		{"tag starting with .", "nginx:.bad", "a tag cannot start with '.'"},
	} {
		_, err := ParseReference(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("%s: ParseReference(%q) = %v, want an error containing %q", tc.name, tc.in, err, tc.wantMsg)
		}
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"nginx", "library/nginx:1", "docker.io/library/nginx", "index.docker.io/nginx@sha256:" + hex64,
		"localhost:5000/a/b:c", "docker.io.evil.com/x", "evil.com/docker.io/x", "a:b@sha256:" + hex64, "sha256:" + hex64,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ref, err := ParseReference(in)
		if err != nil {
			return
		}
		canonical := ref.String()
		again, err := ParseReference(canonical)
		if err != nil {
			t.Fatalf("ParseReference(%q) = %q, which does not parse again: %v", in, canonical, err)
		}
		if again.String() != canonical {
			t.Fatalf("ParseReference(%q) = %q, re-parsed as %q: canonical form is not stable", in, canonical, again.String())
		}
		if ref.Registry == dockerHub && !strings.HasPrefix(canonical, "docker.io/") {
			t.Fatalf("ParseReference(%q) = %q on Docker Hub without the docker.io/ prefix", in, canonical)
		}
		if strings.HasPrefix(canonical, "docker.io/") && ref.Registry != dockerHub {
			t.Fatalf("ParseReference(%q) = %q looks like Docker Hub but its registry is %q", in, canonical, ref.Registry)
		}
	})
}
