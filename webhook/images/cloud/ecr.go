package cloud

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/awslabs/amazon-ecr-credential-helper/ecr-login/api"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-project/strata/webhook/images"
)

// ECR reads ECR authorization tokens with the AWS SDK's default credential
// chain (IRSA's web identity token, EKS Pod Identity, the node's instance
// role). Hosts are recognised by amazon-ecr-credential-helper's own parser
// (every partition, FIPS and dual-stack spelling); the token is fetched
// here rather than through that helper's client, which takes no context
// (strata bounds every call by the registry budget), reports no expiry
// and caches tokens in a file under $HOME.
type ECR struct {
	opts Options

	mu      sync.Mutex
	clients map[string]*ecr.Client // by region and FIPS
}

// NewECR returns the ECR helper.
func NewECR(opts Options) *ECR { return &ECR{opts: opts, clients: map[string]*ecr.Client{}} }

func (*ECR) Name() string { return "ecr" }

func (*ECR) Owns(host string) bool { return ownsECR(host) }

// ownsECR reports a private ECR registry host; ECR Public
// (public.ecr.aws) is read anonymously.
func ownsECR(host string) bool {
	r, err := api.ExtractRegistry(host)
	return err == nil && r.Service == api.ServiceECR
}

// Credentials returns the registry's basic credentials (AWS and a token
// valid for 12 hours) from ecr:GetAuthorizationToken in the host's region.
func (e *ECR) Credentials(ctx context.Context, req images.CloudRequest) (authn.AuthConfig, time.Time, error) {
	host, _, _ := strings.Cut(req.Host, ":")
	reg, err := api.ExtractRegistry(host)
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, err
	}
	client, err := e.client(ctx, reg)
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, err
	}
	// No RegistryIds: the token opens every registry the identity may read,
	// whichever is named (AWS deprecated the field for that reason).
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, fmt.Errorf("ecr:GetAuthorizationToken in %s: %w", reg.Region, err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return authn.AuthConfig{}, time.Time{}, errors.New("ecr:GetAuthorizationToken returned no token")
	}
	data := out.AuthorizationData[0]
	decoded, err := base64.StdEncoding.DecodeString(aws.ToString(data.AuthorizationToken))
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, fmt.Errorf("ecr:GetAuthorizationToken returned a token that is not base64: %w", err)
	}
	user, pass, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return authn.AuthConfig{}, time.Time{}, errors.New("ecr:GetAuthorizationToken returned a token that is not user:password")
	}
	return authn.AuthConfig{Username: user, Password: pass}, aws.ToTime(data.ExpiresAt), nil
}

// client returns the ECR client of reg's region, created once: the SDK's
// credential chain caches the identity's own temporary credentials.
func (e *ECR) client(ctx context.Context, reg *api.Registry) (*ecr.Client, error) {
	key := fmt.Sprintf("%s/%t", reg.Region, reg.FIPS)
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clients[key]; ok {
		return c, nil
	}
	loads := []func(*config.LoadOptions) error{config.WithRegion(reg.Region)}
	if e.opts.HTTPClient != nil {
		loads = append(loads, config.WithHTTPClient(e.opts.HTTPClient))
	}
	if reg.FIPS {
		loads = append(loads, config.WithUseFIPSEndpoint(aws.FIPSEndpointStateEnabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	c := ecr.NewFromConfig(cfg)
	e.clients[key] = c
	return c, nil
}
