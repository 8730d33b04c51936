package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-project/strata/webhook/images"
)

// acrUser is the user name ACR expects with a refresh token as password.
const acrUser = "00000000-0000-0000-0000-000000000000"

// azureClouds are ACR's host suffixes per Azure cloud, and the Resource
// Manager scope whose Entra ID token ACR's /oauth2/exchange accepts there.
var azureClouds = []struct{ suffix, scope string }{
	{".azurecr.io", "https://management.azure.com/.default"},
	{".azurecr.cn", "https://management.chinacloudapi.cn/.default"},
	{".azurecr.us", "https://management.usgovcloudapi.net/.default"},
}

// Azure gives ACR refresh tokens for strata's workload identity. There is no
// Go ACR credential helper that supports workload identity (the
// docker-credential-acr-env helper reads a client secret or a managed
// identity, not a federated token), so this one is built on azidentity's
// WorkloadIdentityCredential, which reads what the AKS workload identity
// webhook injects (AZURE_CLIENT_ID, AZURE_TENANT_ID,
// AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST), and exchanges its
// Entra ID token at the registry's documented /oauth2/exchange endpoint, as
// `az acr login` does.
type Azure struct {
	opts Options

	mu   sync.Mutex
	cred *azidentity.WorkloadIdentityCredential
}

// NewAzure returns the Azure helper.
func NewAzure(opts Options) *Azure { return &Azure{opts: opts} }

func (*Azure) Name() string { return "azure" }

func (*Azure) Owns(host string) bool { return ownsAzure(host) }

func ownsAzure(host string) bool { return azureScope(host) != "" }

func azureScope(host string) string {
	for _, c := range azureClouds {
		if name, ok := strings.CutSuffix(host, c.suffix); ok && name != "" && !strings.Contains(name, ".") {
			return c.scope
		}
	}
	return ""
}

// Credentials exchanges an Entra ID token of strata's identity for an ACR
// refresh token of the registry.
func (a *Azure) Credentials(ctx context.Context, req images.CloudRequest) (authn.AuthConfig, time.Time, error) {
	hostname, _, _ := strings.Cut(req.Host, ":")
	cred, err := a.credential()
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, err
	}
	aad, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{azureScope(hostname)}})
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, fmt.Errorf("reading a Microsoft Entra ID token: %w", err)
	}
	refresh, err := exchange(ctx, req, aad.Token)
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, err
	}
	// ACR's refresh tokens outlive the Entra ID token they came from; the
	// shorter of the two is the safe expiry.
	return authn.AuthConfig{Username: acrUser, Password: refresh}, aad.ExpiresOn, nil
}

func (a *Azure) credential() (*azidentity.WorkloadIdentityCredential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cred != nil {
		return a.cred, nil
	}
	o := azidentity.WorkloadIdentityCredentialOptions{DisableInstanceDiscovery: a.opts.AzureDisableInstanceDiscovery}
	if a.opts.HTTPClient != nil {
		o.ClientOptions = azcore.ClientOptions{Transport: a.opts.HTTPClient}
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(&o)
	if err != nil {
		return nil, fmt.Errorf("reading the Azure workload identity (is the pod labelled azure.workload.identity/use: \"true\"?): %w", err)
	}
	a.cred = cred
	return cred, nil
}

// maxExchangeAnswer bounds the exchange's answer: a refresh token is a
// JWT of a few KiB.
const maxExchangeAnswer = 64 << 10

// exchange trades an Entra ID access token for an ACR refresh token at the
// registry's /oauth2/exchange.
func exchange(ctx context.Context, req images.CloudRequest, aadToken string) (string, error) {
	form := url.Values{
		"grant_type":   {"access_token"},
		"service":      {req.Host},
		"access_token": {aadToken},
	}
	endpoint := req.Scheme + "://" + req.Host + "/oauth2/exchange"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := req.Registry.Do(hreq)
	if err != nil {
		return "", fmt.Errorf("exchanging the Entra ID token at %s: %w", req.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxExchangeAnswer))
	if err != nil {
		return "", fmt.Errorf("exchanging the Entra ID token at %s: %w", req.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("exchanging the Entra ID token at %s: HTTP %d", req.Host, resp.StatusCode)
	}
	var answer struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.RefreshToken == "" {
		return "", errors.New("exchanging the Entra ID token at " + req.Host + ": the answer holds no refresh_token")
	}
	return answer.RefreshToken, nil
}
