package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/spf13/pflag"
)

// The listeners of --dev: a self-signed certificate and the demo are for
// the developer's own machine, not for whoever shares its network.
const (
	devAddr       = "127.0.0.1:8443"
	devHealthAddr = "127.0.0.1:8080"
)

// devListeners binds the listeners whose flags were not given to loopback.
func devListeners(fs *pflag.FlagSet, addr, healthAddr *string) {
	if !fs.Changed("addr") {
		*addr = devAddr
	}
	if !fs.Changed("health-addr") {
		*healthAddr = devHealthAddr
	}
}

// devcertAdvice: --dev with --cert-dir writes a new pair into the directory,
// and never over a certificate someone put there.
func devcertAdvice(dir string, err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("--cert-dir %s: %s already exists, and --dev writes a new self-signed certificate there: drop --dev to serve the certificate in %s, or give --dev an empty --cert-dir (or none)", dir, filepath.Base(pathErr.Path), dir)
	}
	return err
}
