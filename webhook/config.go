package webhook

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/policies"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/images/cloud"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
)

// Config is strata.yaml (README.md, "Configuration"); every field is optional and the
// command line's flags override it. cmd/strata reads the file and the flags;
// NewPipeline turns a Config into each stage's Options, so that every front
// end (serve, check, inspect), the benchmarks and the tests build the same
// pipeline from it.
type Config struct {
	Mode      string         `json:"mode,omitempty"`
	Policies  PoliciesConfig `json:"policies,omitzero"`
	Catalog   CatalogConfig  `json:"catalog,omitzero"`
	Platforms []string       `json:"platforms,omitempty"`
	Registry  RegistryConfig `json:"registry,omitzero"`
	Cache     CacheConfig    `json:"cache,omitzero"`
	Exempt    ExemptConfig   `json:"exempt,omitzero"`
	Notify    NotifyConfig   `json:"notify,omitzero"`
}

// PoliciesConfig selects and parameterises the Rego policies.
type PoliciesConfig struct {
	Actions map[string]string `json:"actions,omitempty"`
	Paths   []string          `json:"paths,omitempty"`
	Data    map[string]any    `json:"data,omitempty"`
}

// CatalogConfig lists the known images lineage is matched against.
type CatalogConfig struct {
	Refresh Duration       `json:"refresh,omitzero"`
	Images  []CatalogImage `json:"images,omitempty"`
}

// CatalogImage is one known image and the role it plays.
type CatalogImage struct {
	Ref  string `json:"ref"`
	Role string `json:"role"`
}

// RegistryConfig says how, and which, registries are reached.
type RegistryConfig struct {
	Timeout  Duration `json:"timeout,omitzero"`
	TagTTL   Duration `json:"tagTTL,omitzero"`
	Allow    []string `json:"allow,omitempty"`
	Insecure []string `json:"insecure,omitempty"`
	// CAFile is a PEM file of certificate authorities trusted for
	// registries in addition to the system's: a registry behind a private
	// CA is verified, never reached without TLS.
	CAFile string `json:"caFile,omitempty"`
	// Credentials are the cloud registry helpers whose hosts strata reads
	// with its own cloud identity, after pull secrets: ecr, google, azure.
	Credentials []string `json:"credentials,omitempty"`
	// Hosts maps a registry host name to the host:port strata dials for
	// it, as /etc/hosts would: a registry mirror or a test registry serving
	// that name. TLS is still verified for the name, and the address is
	// still refused if it is link-local or a metadata address.
	Hosts map[string]string `json:"hosts,omitempty"`
}

// CacheConfig bounds what strata remembers between admissions.
type CacheConfig struct {
	// MaxBytes is the one budget of every cache, in bytes or as a quantity
	// ("64Mi"), split by cacheBudget.
	MaxBytes resource.Quantity `json:"maxBytes,omitzero"`
}

// DefaultCacheBytes is cache.maxBytes by default. Without a container
// limit, strata serve's soft memory limit is derived from it (twice it
// plus 8 MiB: 72 MiB), and at 32 MiB the full-size memory scenario of
// test/bench/RESULTS.md (20,000 images, a 10,000-image catalog) stays
// within 128 MiB resident, the binary's own pages included. The chart sets
// 64Mi beside its 256 MiB memory limit.
const DefaultCacheBytes = 32 << 20

// minCacheBytes is the smallest budget accepted: below it the caches hold
// too little to serve a cluster's working set.
const minCacheBytes = 4 << 20

// cacheBudget splits cache.maxBytes: 10/16 to the image resolver (facts,
// tag resolutions, remembered failures, registry sessions), 1/16 to the
// pods' pull-secret credentials, 1/16 to the image parts of the policy
// input, 1/8 each to the policy result cache and the lineage cache.
func (c Config) cacheBudget() (resolver, secrets, results, lineages int64) {
	total := c.Cache.MaxBytes.Value()
	return total / 16 * 10, total / 16, total / 8, total / 8
}

// inputPartsBytes is the share of cache.maxBytes the image parts of the
// policy input may hold.
func (c Config) inputPartsBytes() int64 {
	return c.Cache.MaxBytes.Value() / 16
}

// OfflineWorkloadTimeout is what check, audit and graph give one workload
// outside admission, where no API server sets a deadline: the registry
// budget, and time to evaluate after it.
func (c Config) OfflineWorkloadTimeout() time.Duration {
	return c.Registry.Timeout.Duration + 2*time.Second
}

// PullSecretCacheBytes is the share of cache.maxBytes that pods' pull-secret
// credentials may hold; the front end that reads secrets sizes its cache so.
func (c Config) PullSecretCacheBytes() int64 {
	_, secrets, _, _ := c.cacheBudget()
	return secrets
}

// ExemptConfig lists what is never evaluated.
type ExemptConfig struct {
	Namespaces []string `json:"namespaces,omitempty"`
	// Images are images.Pattern globs on canonical references.
	Images []string `json:"images,omitempty"`
}

// NotifyConfig says where strata serve POSTs an event when a catalog base
// moves (docs/notifications.md); `strata serve --notify URL` overrides URL.
type NotifyConfig struct {
	// URL is the CI system's webhook; empty: no notifications.
	URL string `json:"url,omitempty"`
	// Format is generic (the event itself) or github (a repository_dispatch).
	Format string `json:"format,omitempty"`
	// SecretFile holds the HMAC-SHA256 key that signs each body; the
	// STRATA_NOTIFY_SECRET environment variable is read when it is unset.
	SecretFile string `json:"secretFile,omitempty"`
	// TokenFile holds a token sent as "Authorization: Bearer" (GitHub);
	// STRATA_NOTIFY_TOKEN is read when it is unset.
	TokenFile string `json:"tokenFile,omitempty"`
}

// NotifyFormats are the values of notify.format.
var NotifyFormats = []string{"generic", "github"}

// Duration reads "3s", "5m", "1h" in YAML.
type Duration struct{ time.Duration }

// UnmarshalJSON parses a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("durations are strings such as \"3s\" or \"5m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// DefaultConfig is what strata uses with no file. Each default is the
// owning package's: the stages default to the same values when their
// Options leave them out.
func DefaultConfig() Config {
	return Config{
		Mode:      string(policy.Warn),
		Platforms: images.DefaultPlatforms(),
		Registry: RegistryConfig{
			Timeout: Duration{DefaultResolveBudget},
			TagTTL:  Duration{images.DefaultTagTTL},
		},
		Catalog: CatalogConfig{Refresh: Duration{lineage.DefaultRefresh}},
		Cache:   CacheConfig{MaxBytes: *resource.NewQuantity(DefaultCacheBytes, resource.BinarySI)},
		Exempt:  ExemptConfig{Namespaces: []string{"kube-system"}},
	}
}

// ParseConfig reads strata.yaml's content over the defaults; unknown keys
// are errors, so that a misspelt setting is never silently ignored.
func ParseConfig(raw []byte) (Config, error) {
	cfg := DefaultConfig()
	if err := yaml.UnmarshalStrict(raw, &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Modes are the values of mode: what a violation does by default.
var Modes = []string{string(policy.Enforce), string(policy.Warn), string(policy.Audit)}

// Validate checks the configuration once, before anything is built from it.
func (c Config) Validate() error {
	var problems []string
	if !slices.Contains(Modes, c.Mode) {
		problems = append(problems, fmt.Sprintf("mode %q: want one of %s", c.Mode, strings.Join(Modes, ", ")))
	}
	for id, action := range c.Policies.Actions {
		if _, err := policy.ParseAction(action); err != nil {
			if action == "false" || action == "true" {
				err = fmt.Errorf("%w; YAML reads an unquoted off, no, on or yes as a boolean: quote the action, as in \"off\"", err)
			}
			problems = append(problems, fmt.Sprintf("policies.actions.%s: %v", id, err))
		}
	}
	if bases, ok := c.Policies.Data["approvedBases"]; ok {
		problems = append(problems, checkApprovedBases(bases)...)
	}
	problems = append(problems, checkPatternData(c.Policies.Data)...)
	for _, p := range c.Exempt.Images {
		problems = append(problems, checkRefPattern("exempt.images", p)...)
	}
	if c.Registry.Timeout.Duration <= 0 {
		problems = append(problems, "registry.timeout must be positive")
	}
	problems = append(problems, cloud.Check(c.Registry.Credentials)...)
	problems = append(problems, checkRegistryHosts(c.Registry.Hosts)...)
	if c.Cache.MaxBytes.Value() < minCacheBytes {
		problems = append(problems, fmt.Sprintf("cache.maxBytes %s: want at least 4Mi", c.Cache.MaxBytes.String()))
	}
	for _, img := range c.Catalog.Images {
		if img.Ref == "" || img.Role == "" {
			problems = append(problems, fmt.Sprintf("catalog image %q: needs both ref and role", img.Ref))
		} else if err := lineage.CheckImages([]lineage.CatalogImage{{Ref: img.Ref, Role: img.Role}}); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if u, err := url.Parse(c.Notify.URL); c.Notify.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		// The URL itself is not repeated: a trigger URL carries a token.
		problems = append(problems, "notify.url: want the http(s) URL of the CI system's webhook")
	}
	if f := c.Notify.Format; f != "" && !slices.Contains(NotifyFormats, f) {
		problems = append(problems, fmt.Sprintf("notify.format %q: want one of %s", f, strings.Join(NotifyFormats, ", ")))
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// checkRegistryHosts refuses a registry.hosts entry the dial would never
// use: the key is matched against the bare host name of an image reference
// (no scheme, port or path), and the address must carry a port.
func checkRegistryHosts(hosts map[string]string) []string {
	var problems []string
	for _, host := range slices.Sorted(maps.Keys(hosts)) {
		if host == "" || strings.ContainsAny(host, ":/ ") || strings.ToLower(host) != host {
			problems = append(problems, fmt.Sprintf("registry.hosts: %q: want a lower-case registry host name without scheme, port or path, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com", host))
			continue
		}
		h, port, err := net.SplitHostPort(hosts[host])
		if n, perr := strconv.Atoi(port); err != nil || h == "" || perr != nil || n < 1 || n > 65535 {
			problems = append(problems, fmt.Sprintf("registry.hosts.%s: %q: want the host:port to dial instead, e.g. 10.0.0.5:5000", host, hosts[host]))
		}
	}
	return problems
}

// checkApprovedBases refuses patterns that would make every evaluation fail
// (strict builtin errors) or never match (a non-canonical spelling or a
// malformed digest).
func checkApprovedBases(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return []string{"policies.data.approvedBases: want a list of patterns"}
	}
	var problems []string
	for _, p := range list {
		s, ok := p.(string)
		if !ok || s == "" {
			problems = append(problems, fmt.Sprintf("policies.data.approvedBases: %v is not a pattern string", p))
			continue
		}
		if strings.HasPrefix(s, "sha256:") {
			if _, err := images.ParseDigest(s); err != nil {
				problems = append(problems, fmt.Sprintf("policies.data.approvedBases: %v", err))
			}
			continue
		}
		problems = append(problems, checkRefPattern("policies.data.approvedBases", s)...)
	}
	return problems
}

// checkRefPattern refuses a pattern on canonical references (the one
// dialect, images.Pattern) that does not compile, or that never matches
// because what comes before its first wildcard is not canonical.
func checkRefPattern(key, s string) []string {
	if _, err := images.CompilePattern(s); err != nil {
		return []string{fmt.Sprintf("%s: %v", key, err)}
	}
	literal, _, _ := strings.Cut(s, "*")
	if !strings.Contains(literal, "/") {
		return []string{fmt.Sprintf("%s: %q must name a registry and repository, e.g. docker.io/library/debian:*", key, s)}
	}
	return nil
}

// policyOptions turns the configuration into the policy engine's Options.
func (c Config) policyOptions() policy.Options {
	actions := make(map[string]policy.Action, len(c.Policies.Actions))
	for id, a := range c.Policies.Actions {
		actions[id] = policy.Action(a)
	}
	_, _, results, _ := c.cacheBudget()
	return policy.Options{Builtins: policies.FS, Paths: c.Policies.Paths, Data: c.Policies.Data, Actions: actions, ResultCacheBytes: results}
}

// catalogOptions turns the configuration into the lineage catalog's Options.
func (c Config) catalogOptions() lineage.Options {
	_, _, _, lineages := c.cacheBudget()
	opts := lineage.Options{ClaimTTL: c.Registry.TagTTL.Duration, FetchTimeout: c.Registry.Timeout.Duration, CacheBytes: lineages}
	for _, img := range c.Catalog.Images {
		opts.Images = append(opts.Images, lineage.CatalogImage{Ref: img.Ref, Role: img.Role})
	}
	return opts
}

// rootCAs is the system's certificate pool with registry.caFile's
// certificates added; nil (the system's) without a file.
func (c Config) rootCAs() (*x509.CertPool, error) {
	if c.Registry.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.Registry.CAFile)
	if err != nil {
		return nil, fmt.Errorf("registry.caFile: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("registry.caFile %s holds no PEM certificate", c.Registry.CAFile)
	}
	return pool, nil
}

// resolverOptions turns the configuration into the image resolver's Options.
// A fetch shared by concurrent admissions lasts at most registry.timeout,
// like each admission's own registry work, rather than the resolver's
// longer default: strata's fetches serve admissions.
func (c Config) resolverOptions() images.Options {
	resolver, _, _, _ := c.cacheBudget()
	return images.Options{
		CacheBytes:   resolver,
		Platforms:    c.Platforms,
		TagTTL:       c.Registry.TagTTL.Duration,
		FetchTimeout: c.Registry.Timeout.Duration,
		Allow:        c.Registry.Allow,
		Insecure:     c.Registry.Insecure,
		Hosts:        c.Registry.Hosts,
	}
}

// cloudOptions turns registry.credentials into the resolver's cloud helpers.
func (c Config) cloudOptions() (images.CloudOptions, error) {
	providers, err := cloud.Providers(c.Registry.Credentials, cloud.Options{})
	return images.CloudOptions{Providers: providers, Helper: cloud.Helper}, err
}
