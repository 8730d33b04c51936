package webhook

import (
	"strings"
	"testing"
)

// registry.hosts is strata.yaml's key, known to config validate, read into
// the resolver's host mapping.
func TestRegistryHostsIsReadFromStrataYAML(t *testing.T) {
	t.Parallel()
	raw := []byte("registry:\n  hosts:\n    123456789012.dkr.ecr.eu-west-1.amazonaws.com: 127.0.0.1:5000\n")
	if problems := LintConfig(raw, nil); len(problems) != 0 {
		t.Errorf("LintConfig(registry.hosts) = %v, want no problem", problems)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if got := cfg.resolverOptions().Hosts["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]; got != "127.0.0.1:5000" {
		t.Errorf("the resolver dials %q for the mapped host, want 127.0.0.1:5000", got)
	}
}

// An entry the dial would never use (a key with a scheme or port, an
// address without a port) is refused at load, not silently ignored.
func TestRegistryHostsRefusesEntriesTheDialWouldNeverUse(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Registry.Hosts = map[string]string{
		"https://registry.example": "10.0.0.5:5000",
		"registry.example:5000":    "10.0.0.5:5000",
		"mirror.example":           "10.0.0.5",
		"ok.example":               "10.0.0.5:443",
	}
	err := cfg.Validate()
	for _, want := range []string{
		`registry.hosts: "https://registry.example": want a lower-case registry host name`,
		`registry.hosts: "registry.example:5000": want a lower-case registry host name`,
		`registry.hosts.mirror.example: "10.0.0.5": want the host:port to dial instead`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to say %s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "ok.example") {
		t.Errorf("Validate() refused a well-formed entry: %v", err)
	}
}
