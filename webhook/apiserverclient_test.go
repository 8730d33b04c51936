package webhook

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/transport"
)

// docs/serving.md, "Why these values", states what the API server's webhook
// client (client-go's transport) does with connections, and chooses
// strata's idle timeout from it: the numbers are client-go's on the
// version strata builds with, and strata's idle timeout is the longer, so
// the API server closes an idle connection first.
func TestServingDocumentStatesClientGosConnectionSettings(t *testing.T) {
	rt, err := transport.New(&transport.Config{TLS: transport.TLSConfig{ServerName: "strata.strata-system.svc"}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		w, ok := rt.(utilnet.RoundTripperWrapper)
		if !ok {
			break
		}
		rt = w.WrappedRoundTripper()
	}
	client, ok := rt.(*http.Transport)
	if !ok {
		t.Fatalf("client-go's transport is a %T, want an *http.Transport", rt)
	}
	raw, err := os.ReadFile("../docs/serving.md")
	if err != nil {
		t.Fatal(err)
	}
	prose := strings.Join(strings.Fields(string(raw)), " ")
	for _, phrase := range []string{
		fmt.Sprintf("keeps idle ones for %s, and gives a TLS handshake %s", spelled(client.IdleConnTimeout), spelled(client.TLSHandshakeTimeout)),
		fmt.Sprintf("strata's idle timeout, %d minutes, is longer", DefaultWebhookLimits().IdleTimeout/time.Minute),
		fmt.Sprintf("keeps at most %d idle connections per webhook host", client.MaxIdleConnsPerHost),
	} {
		if !strings.Contains(prose, phrase) {
			t.Errorf("docs/serving.md does not say %q, which is what client-go and strata do", phrase)
		}
	}
	if client.TLSClientConfig == nil || client.TLSClientConfig.ClientSessionCache != nil {
		t.Errorf("client-go's transport has a TLS session cache; docs/serving.md says it has none")
	}
	if idle := DefaultWebhookLimits().IdleTimeout; idle <= client.IdleConnTimeout {
		t.Errorf("strata's idle timeout %v is not longer than client-go's %v", idle, client.IdleConnTimeout)
	}
}
