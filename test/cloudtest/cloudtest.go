// Package cloudtest stands in for the clouds' token APIs on loopback, set
// through each SDK's own endpoint settings, for the tests of strata's cloud
// registry helpers, in process (webhook) and end to end (test/e2e).
package cloudtest

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ECRHost is the ECR registry host the stand-in issues tokens for.
const ECRHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

// GARHost is an Artifact Registry host, read with the metadata server's
// token.
const GARHost = "europe-west1-docker.pkg.dev"

// StandIn counts the calls on a stand-in of a cloud token API.
type StandIn struct {
	Calls atomic.Int64
	// Hang, when set, makes token requests wait until the client gives up.
	Hang atomic.Bool
	// Refuse, when set, makes token requests fail as the cloud refuses an
	// identity.
	Refuse atomic.Bool
	// last is the last token request: its Authorization header (a SigV4
	// credential scope names the region and service) and body.
	last atomic.Pointer[string]
}

// LastTokenRequest is the Authorization header and the body of the last
// token request, on two lines; "" before any.
func (s *StandIn) LastTokenRequest() string {
	if p := s.last.Load(); p != nil {
		return *p
	}
	return ""
}

// Wait blocks until req is cancelled or a minute has passed: a token API
// that accepted the connection and says nothing.
func Wait(t testing.TB, req *http.Request) {
	select {
	case <-req.Context().Done():
	case <-time.After(time.Minute):
		t.Error("a hung token request was never cancelled")
	}
}

// ECR stands in for AWS STS (AssumeRoleWithWebIdentity, as IRSA
// calls it) and ECR's GetAuthorizationToken on loopback, reached through
// the AWS SDK's own endpoint settings: tokens are "AWS" and password,
// valid for lifetime from clock's now.
func ECR(t *testing.T, password string, clock func() time.Time, lifetime time.Duration) *StandIn {
	t.Helper()
	s := &StandIn{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".GetAuthorizationToken") {
			s.Calls.Add(1)
			last := req.Header.Get("Authorization") + "\n" + string(body)
			s.last.Store(&last)
			if s.Hang.Load() {
				Wait(t, req)
				return
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			if s.Refuse.Load() {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/strata/s is not authorized to perform: ecr:GetAuthorizationToken"}`)
				return
			}
			token := base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
			fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":%q,"expiresAt":%d,"proxyEndpoint":"https://%s"}]}`, token, clock().Add(lifetime).Unix(), ECRHost)
			return
		}
		form, _ := url.ParseQuery(string(body))
		if form.Get("Action") != "AssumeRoleWithWebIdentity" || form.Get("WebIdentityToken") != "projected-sa-token" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials><AccessKeyId>ASIASTANDIN</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>session</SessionToken><Expiration>%s</Expiration></Credentials>
    <SubjectFromWebIdentityToken>system:serviceaccount:strata:strata</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/strata/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("projected-sa-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	// What the EKS pod identity webhook injects for IRSA, and nothing of
	// the developer's own AWS setup.
	for k, v := range map[string]string{
		"AWS_ROLE_ARN":                "arn:aws:iam::123456789012:role/strata",
		"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
		"AWS_ROLE_SESSION_NAME":       "s",
		"AWS_ENDPOINT_URL_STS":        srv.URL,
		"AWS_ENDPOINT_URL_ECR":        srv.URL,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ACCESS_KEY_ID":           "",
		"AWS_SECRET_ACCESS_KEY":       "",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
	} {
		t.Setenv(k, v)
	}
	return s
}

// Metadata stands in for the GKE metadata server on loopback, set
// through GCE_METADATA_HOST as the Google client libraries read it: it
// issues access token for the Workload Identity of strata's pod.
func Metadata(t *testing.T, token string) *StandIn {
	t.Helper()
	s := &StandIn{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		switch {
		case strings.HasPrefix(req.URL.Path, "/computeMetadata/v1/instance/service-accounts/default/token"):
			s.Calls.Add(1)
			if s.Hang.Load() {
				Wait(t, req)
				return
			}
			if s.Refuse.Load() {
				http.Error(w, "Workload Identity: the Kubernetes service account is not bound to a Google service account", http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, token)
		case req.URL.Path == "/computeMetadata/v1/project/project-id":
			fmt.Fprint(w, "strata-project")
		case req.URL.Path == "/computeMetadata/v1/universe/universe-domain":
			fmt.Fprint(w, "googleapis.com")
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir()) // no gcloud application default credentials
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	return s
}
