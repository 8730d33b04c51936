package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/manifest"
)

// registries lists the registry hosts of every image in the manifests.
func registries(manifests []manifest.Manifest) []string {
	var hosts []string
	for _, m := range manifests {
		for _, c := range m.Workload.Containers {
			if ref, err := images.ParseReference(c.Image); err == nil && !slices.Contains(hosts, ref.Registry) {
				hosts = append(hosts, ref.Registry)
			}
		}
	}
	return hosts
}

// pathList is -f: repeatable, and each value may list paths with commas.
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, ",") }

// Type names the value in --help, as pflag asks.
func (p *pathList) Type() string { return "paths" }

func (p *pathList) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s == "" {
			return errors.New("empty path")
		}
		*p = append(*p, s)
	}
	return nil
}

// readAdvice adds to the reader's errors the flag that changes what it does.
func readAdvice(err error) error {
	var limit *manifest.LimitError
	var notRegular *manifest.NotRegularError
	switch {
	case errors.As(err, &limit) && limit.Total:
		return fmt.Errorf("%s: the manifests read pass the %d-byte cap of --max-total-bytes: check fewer at once, or raise the cap", limit.Name, limit.Limit)
	case errors.As(err, &limit):
		return fmt.Errorf("%s: larger than the %d-byte cap of --max-file-bytes: split it, or raise the cap", limit.Name, limit.Limit)
	case errors.As(err, &notRegular):
		return fmt.Errorf("%w: strata check reads only regular files; name the manifest itself, or pass it on standard input with -f -", err)
	case errors.Is(err, manifest.ErrStdinTwice):
		return fmt.Errorf("-f -: %w", err)
	}
	return err
}
