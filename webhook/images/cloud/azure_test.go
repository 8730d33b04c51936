package cloud

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/images"
)

const acrHost = "strata.azurecr.io"

// entraStandIn stands in for Microsoft Entra ID on loopback (TLS, as
// azidentity requires of an authority host), set through
// AZURE_AUTHORITY_HOST as the AKS workload identity webhook sets it: it
// issues an access token for the federated service account token.
func entraStandIn(t *testing.T, accessToken string) (*standIn, *http.Client) {
	t.Helper()
	s := &standIn{}
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		base := srv.URL
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(req.URL.Path, "/discovery/instance"):
			host := strings.TrimPrefix(base, "https://")
			fmt.Fprintf(w, `{"tenant_discovery_endpoint":"%s/tenant/v2.0/.well-known/openid-configuration","api-version":"1.1","metadata":[{"preferred_network":%q,"preferred_cache":%q,"aliases":[%q]}]}`, base, host, host, host)
		case strings.HasSuffix(req.URL.Path, "/.well-known/openid-configuration"):
			fmt.Fprintf(w, `{"token_endpoint":"%[1]s/tenant/oauth2/v2.0/token","authorization_endpoint":"%[1]s/tenant/oauth2/v2.0/authorize","issuer":"%[1]s/tenant/v2.0"}`, base)
		case strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token"):
			s.Calls.Add(1)
			if s.Hang.Load() {
				wait(t, req)
				return
			}
			if err := req.ParseForm(); err != nil || req.PostForm.Get("client_assertion") != "projected-sa-token" || s.Refuse.Load() {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found for presented assertion subject"}`)
				return
			}
			fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":%q}`, accessToken)
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(tokenFile, []byte("projected-sa-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_AUTHORITY_HOST", srv.URL)
	t.Setenv("AZURE_TENANT_ID", "tenant")
	t.Setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", tokenFile)
	return s, srv.Client()
}

// acrExchange serves ACR's /oauth2/exchange on reg: an Entra ID access
// token for host becomes refreshToken.
func acrExchange(reg *privateRegistry, host, accessToken, refreshToken string) *standIn {
	s := &standIn{}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.exchange = func(w http.ResponseWriter, req *http.Request) {
		s.Calls.Add(1)
		if err := req.ParseForm(); err != nil || req.PostForm.Get("grant_type") != "access_token" ||
			req.PostForm.Get("service") != host || req.PostForm.Get("access_token") != accessToken {
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"refresh_token":%q}`, refreshToken)
	}
	return s
}

func TestAzurePrivateImageResolvesWithAFederatedToken(t *testing.T) {
	reg := newPrivateRegistry(t, acrUser, "acr-refresh-token")
	reg.push(t, "team/app:1")
	entra, client := entraStandIn(t, "entra-access-token")
	exchange := acrExchange(reg, acrHost, "entra-access-token", "acr-refresh-token")
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewAzure(Options{HTTPClient: client, AzureDisableInstanceDiscovery: true})}}}, acrHost)

	if _, err := r.Resolve(testContext(t, 30*time.Second), acrHost+"/team/app:1", images.Access{}); err != nil {
		t.Fatalf("resolving a private ACR image with the azure helper: %v", err)
	}
	if e, x := entra.Calls.Load(), exchange.Calls.Load(); e != 1 || x != 1 {
		t.Errorf("%d Entra ID token requests and %d exchanges, want 1 and 1", e, x)
	}
}

func TestAzureRefusedFederationNamesTheIdentityToCheck(t *testing.T) {
	reg := newPrivateRegistry(t, acrUser, "acr-refresh-token")
	reg.push(t, "team/app:1")
	entra, client := entraStandIn(t, "entra-access-token")
	entra.Refuse.Store(true)
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewAzure(Options{HTTPClient: client, AzureDisableInstanceDiscovery: true})}}}, acrHost)

	_, err := r.Resolve(testContext(t, 30*time.Second), acrHost+"/team/app:1", images.Access{})
	for _, want := range []string{"Azure refused strata's identity for " + acrHost, "azure.workload.identity/client-id", "AADSTS700213"} {
		if images.KindOf(err) != images.KindUnauthorized || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an unauthorized error saying %q", err, want)
		}
	}
}
