package images

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// docs/registries.md: registry.hosts changes where strata dials, never what
// it may dial: a host mapped to a link-local or cloud metadata address is
// refused at the dial like any other.
func TestRegistryHostMappedToAMetadataAddressIsRefused(t *testing.T) {
	for _, addr := range []string{"169.254.169.254:443", "[fd00:ec2::254]:443", "100.100.100.200:443"} {
		r, err := NewResolver(Options{Keychain: authn.NewMultiKeychain(), Hosts: map[string]string{"registry.example.com": addr}})
		if err != nil {
			t.Fatal(err)
		}
		image := "registry.example.com/shop/web:1.0"
		_, err = r.Resolve(testContext(t, 10*time.Second), image, Access{})
		wantKind(t, image, err, KindNetwork, "metadata")
		r.Close()
	}
}
