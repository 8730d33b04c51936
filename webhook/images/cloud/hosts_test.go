package cloud

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-project/strata/test/cloudtest"
	"github.com/strata-project/strata/webhook/images"
)

func TestEachHelperOwnsOnlyItsOwnHosts(t *testing.T) {
	for host, want := range map[string]string{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com":      "ecr",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn":  "ecr",
		"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com": "ecr",
		"123456789012.dkr-ecr.eu-west-1.on.aws":             "ecr", // dual-stack
		"123456789012.dkr.ecr.us-gov-west-1.amazonaws.com":  "ecr",
		"123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov":     "ecr", // ISO partitions
		"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov": "ecr",
		"gcr.io":                                  "google",
		"eu.gcr.io":                               "google",
		"europe-west1-docker.pkg.dev":             "google",
		"strata.azurecr.io":                       "azure",
		"strata.azurecr.cn":                       "azure",
		"strata.azurecr.us":                       "azure",
		"public.ecr.aws":                          "", // ECR Public is read anonymously
		"registry.example.com":                    "",
		"docker.io":                               "",
		"gcr.io.example.com":                      "",
		"evil.example.com.gcr.io.example.com":     "",
		"europe-west1-docker.pkg.dev.example.com": "",
		"evil.europe-west1-docker.pkg.dev":        "",
		"pkg.dev":                                 "",
		"azurecr.io":                              "",
		"strata.azurecr.io.example.com":           "",
		"a.b.azurecr.io":                          "",
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com.example.com": "",
		"dkr.ecr.eu-west-1.amazonaws.com":                          "",
	} {
		if got := Helper(host); got != want {
			t.Errorf("Helper(%q) = %q, want %q", host, got, want)
		}
	}
}

// TestARequestForAnotherHostNeverCallsAProvider enables every helper, each
// with a stand-in that counts its calls, and resolves images on hosts that
// are not theirs (some spelt to look like theirs): no stand-in is called.
func TestARequestForAnotherHostNeverCallsAProvider(t *testing.T) {
	reg := newPrivateRegistry(t, "alice", "s3cret")
	reg.push(t, "team/app:1")
	ecr := cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
	md := cloudtest.Metadata(t, "gke-access-token")
	entra, client := entraStandIn(t, "entra-access-token")
	others := []string{"registry.example.com", "gcr.io.example.com", "strata.azurecr.io.example.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com.example.com", "europe-west1-docker.pkg.dev.example.com"}
	providers := []images.CloudProvider{NewECR(Options{}), NewGoogle(Options{}), NewAzure(Options{HTTPClient: client, AzureDisableInstanceDiscovery: true})}
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: providers}}, others...)

	for _, host := range others {
		_, err := r.Resolve(testContext(t, 30*time.Second), host+"/team/app:1", images.Access{})
		if images.KindOf(err) != images.KindUnauthorized || strings.Contains(err.Error(), "helper") {
			t.Errorf("%s without credentials: got %v, want a plain refusal", host, err)
		}
		secret := images.Access{Scope: "secret", Keychain: staticKeychain{host: host, user: "alice", pass: "s3cret"}}
		if _, err := r.Resolve(testContext(t, 30*time.Second), host+"/team/app:1", secret); err != nil {
			t.Errorf("%s with its credentials: %v", host, err)
		}
	}
	if e, g, a := ecr.Calls.Load(), md.Calls.Load(), entra.Calls.Load(); e+g+a != 0 {
		t.Errorf("token APIs called for other hosts: ECR %d, metadata server %d, Entra ID %d", e, g, a)
	}
}

// staticKeychain has credentials for one host.
type staticKeychain struct{ host, user, pass string }

func (k staticKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if target.RegistryStr() != k.host {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

func pullSecret(namespace, name, host, user, pass string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth))},
	}
}

func TestPullSecretsWinOverTheECRHelperAndStayInTheirNamespace(t *testing.T) {
	reg := newPrivateRegistry(t, "AWS", "ecr-token")
	reg.push(t, "team/app:1")
	ecr := cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
	ecr.Refuse.Store(true) // strata's own identity may not read it
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewECR(Options{})}}}, ecrHost)
	client := fake.NewClientset(
		pullSecret("team-a", "regcred", ecrHost, "AWS", "ecr-token"),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "default"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "default"}},
	)
	secrets := images.NewPullSecrets(client, images.PullSecretOptions{Fallback: authn.NewMultiKeychain()})
	ctx := testContext(t, 30*time.Second)

	teamA, err := secrets.Access(ctx, "team-a", "default", []string{"regcred"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, ecrHost+"/team/app:1", teamA); err != nil {
		t.Fatalf("team-a's pod with its pull secret: %v", err)
	}
	if n := ecr.Calls.Load(); n != 0 {
		t.Errorf("the ECR helper was asked %d times although the pull secret had credentials", n)
	}

	// Team B names a secret of the same name, which only team A has.
	teamB, err := secrets.Access(ctx, "team-b", "default", []string{"regcred"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(ctx, ecrHost+"/team/app:1", teamB)
	if want := "ECR refused strata's identity"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("team-b's pod: got %v, want %q (team-a's secret never used)", err, want)
	}
	if n := ecr.Calls.Load(); n != 1 {
		t.Errorf("%d token requests, want 1: team-b's pod, which has no secret", n)
	}
}

// A private image on a cloud registry whose helper is off is refused as
// unauthorized, with an error that names the helper to enable, and the
// cloud's token service is never asked.
func TestCloudImageWithoutTheHelperNamesTheMissingHelper(t *testing.T) {
	for _, tc := range []struct {
		name, helper, host, repoTag string
		// registry pushes repoTag to a registry that answers only to the
		// cloud's token, and starts the stand-in of its token service.
		registry func(t *testing.T) (*privateRegistry, *cloudtest.StandIn)
		service  string
	}{
		{"ECRImageWithoutTheHelperNamesTheMissingHelper", "ecr", ecrHost, "team/app:1", func(t *testing.T) (*privateRegistry, *cloudtest.StandIn) {
			reg := newPrivateRegistry(t, "AWS", "ecr-token")
			reg.push(t, "team/app:1")
			return reg, cloudtest.ECR(t, "ecr-token", time.Now, 12*time.Hour)
		}, "ECR's token API"},
		{"GoogleImageWithoutTheHelperNamesTheMissingHelper", "google", garHost, "proj/repo/app:1", garImage, "the metadata server"},
		{"AzureImageWithoutTheHelperNamesTheMissingHelper", "azure", acrHost, "team/app:1", func(t *testing.T) (*privateRegistry, *cloudtest.StandIn) {
			reg := newPrivateRegistry(t, acrUser, "acr-refresh-token")
			reg.push(t, "team/app:1")
			entra, _ := entraStandIn(t, "entra-access-token")
			return reg, entra
		}, "Entra ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, service := tc.registry(t)
			r := resolver(t, reg, images.Options{}, tc.host)

			_, err := r.Resolve(testContext(t, 30*time.Second), tc.host+"/"+tc.repoTag, images.Access{})
			want := "no credentials for " + tc.host + ": the " + tc.helper + " helper is not enabled (registry.credentials)"
			if images.KindOf(err) != images.KindUnauthorized || err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want an unauthorized error saying %q", err, want)
			}
			if n := service.Calls.Load(); n != 0 {
				t.Errorf("%s was asked %d times with the helper off", tc.service, n)
			}
		})
	}
}
