package cloud

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
	"sync"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/images"
)

const ecrHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

// ecrStandIn stands in for AWS STS (AssumeRoleWithWebIdentity, as IRSA
// calls it) and ECR's GetAuthorizationToken on loopback, reached through
// the AWS SDK's own endpoint settings: tokens are "AWS" and password,
// valid for lifetime from clock's now.
func ecrStandIn(t *testing.T, password string, clock func() time.Time, lifetime time.Duration) *standIn {
	t.Helper()
	s := &standIn{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".GetAuthorizationToken") {
			s.calls.Add(1)
			if s.hang.Load() {
				wait(t, req)
				return
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			if s.refuse.Load() {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/strata/s is not authorized to perform: ecr:GetAuthorizationToken"}`)
				return
			}
			token := base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
			fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":%q,"expiresAt":%d,"proxyEndpoint":"https://%s"}]}`, token, clock().Add(lifetime).Unix(), ecrHost)
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

func TestECRPrivateImageResolvesWithTheHelpersToken(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	reg.push(t, "team/app:1")
	ecr := ecrStandIn(t, "ecr-token", time.Now, 12*time.Hour)
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)

	img, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{})
	if err != nil {
		t.Fatalf("resolving a private ECR image with the ecr helper: %v", err)
	}
	if img.Digest.String() == "" || ecr.calls.Load() != 1 {
		t.Errorf("digest %q after %d token requests, want a digest after 1", img.Digest, ecr.calls.Load())
	}
}

func TestECRImageWithoutTheHelperNamesTheMissingHelper(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	reg.push(t, "team/app:1")
	ecr := ecrStandIn(t, "ecr-token", time.Now, 12*time.Hour)
	r := resolver(t, reg, images.Options{}, ecrHost)

	_, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{})
	want := "no credentials for " + ecrHost + ": the ecr helper is not enabled (registry.credentials)"
	if images.KindOf(err) != images.KindUnauthorized || err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an unauthorized error saying %q", err, want)
	}
	if n := ecr.calls.Load(); n != 0 {
		t.Errorf("ECR's token API was called %d times with the helper off", n)
	}
}

func TestECRRefusalNamesTheIdentityAndIsNotAskedAgainFor30Seconds(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	reg.push(t, "team/app:1")
	clock := newFakeClock()
	ecr := ecrStandIn(t, "ecr-token", clock.Now, 12*time.Hour)
	ecr.refuse.Store(true)
	r := resolver(t, reg, images.Options{Now: clock.Now, Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)

	_, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{})
	for _, want := range []string{"ECR refused strata's identity for " + ecrHost, "check the IAM role of strata's service account", "AccessDeniedException"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an error saying %q", err, want)
		}
	}
	for range 20 {
		clock.Advance(time.Second)
		if _, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{}); err == nil {
			t.Fatal("resolved with a refused identity")
		}
	}
	if n := ecr.calls.Load(); n != 1 {
		t.Fatalf("a refused identity was asked %d times within 30s, want once", n)
	}
	clock.Advance(11 * time.Second)
	ecr.refuse.Store(false)
	if _, err := r.Resolve(testContext(t, 30*time.Second), ecrHost+"/team/app:1", images.Access{}); err != nil {
		t.Fatalf("after 31s and a fixed identity: %v", err)
	}
	if n := ecr.calls.Load(); n != 2 {
		t.Errorf("%d token requests, want 2: the failure forgotten after 30s", n)
	}
}

func TestThousandAdmissionsOfFiftyECRImagesCostOneTokenUntilExpiry(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	var refs []string
	for i := range 50 {
		reg.push(t, fmt.Sprintf("team/app%d:1", i))
		refs = append(refs, fmt.Sprintf("%s/team/app%d:1", ecrHost, i))
	}
	clock := newFakeClock()
	ecr := ecrStandIn(t, "ecr-token", clock.Now, 12*time.Hour)
	r := resolver(t, reg, images.Options{Now: clock.Now, Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)

	admit := func() {
		// One admission resolves its 50 images at once, as the checker does.
		var wg sync.WaitGroup
		for _, ref := range refs {
			wg.Go(func() {
				if _, err := r.Resolve(testContext(t, 30*time.Second), ref, images.Access{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for range 1000 {
		admit()
	}
	if n := ecr.calls.Load(); n != 1 {
		t.Fatalf("1,000 admissions of 50 images on one ECR host made %d token requests, want 1", n)
	}
	// Past the token's 12 hours every cache has expired: the next
	// admissions re-check the tags with new sessions, and one refresh
	// serves them all.
	clock.Advance(12 * time.Hour)
	for range 1000 {
		admit()
	}
	if n := ecr.calls.Load(); n != 2 {
		t.Errorf("after expiry, %d token requests in all, want 2 (one refresh)", n)
	}
	// strata_registry_credentials_total says the same.
	for _, c := range r.CloudCredentialCounts() {
		if c.Provider == "ecr" && c.Result == "issued" && c.N != 2 {
			t.Errorf("strata_registry_credentials_total{provider=ecr,result=issued} = %d, want 2", c.N)
		}
		if c.Provider != "ecr" || c.Result != "issued" && c.Result != "cached" {
			t.Errorf("unexpected credential lookups %+v", c)
		}
	}
}

func TestHangingECRTokenAPIAnswersWithinTheBudgetAsATimeout(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	reg.push(t, "team/app:1")
	ecr := ecrStandIn(t, "ecr-token", time.Now, 12*time.Hour)
	ecr.hang.Store(true)
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)

	budget := 2 * time.Second
	start := time.Now()
	_, err := r.Resolve(testContext(t, budget), ecrHost+"/team/app:1", images.Access{})
	took := time.Since(start)
	if images.KindOf(err) != images.KindTimeout {
		t.Fatalf("got %v (kind %q), want a timeout", err, images.KindOf(err))
	}
	if want := "ECR did not give strata credentials for " + ecrHost + " within the resolution budget"; !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to say %q", err, want)
	}
	// Generous: the behaviour under test is the deadline.
	if took > budget+3*time.Second {
		t.Errorf("answered after %s, past the %s budget", took, budget)
	}
	if ecr.calls.Load() == 0 {
		t.Error("the hanging token API was never asked")
	}
}
