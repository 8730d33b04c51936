package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/manifest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/report"
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

// checkManifests evaluates each object exactly as the webhook's handler
// does: the Checker's exempt namespaces are not evaluated, and the mode
// decides.
func checkManifests(ctx context.Context, checker *webhook.Checker, cfg webhook.Config, manifests []manifest.Manifest) []report.CheckedObject {
	mode := policy.Action(cfg.Mode)
	out := make([]report.CheckedObject, len(manifests))
	var g errgroup.Group
	g.SetLimit(checkConcurrency)
	for i, m := range manifests {
		w := m.Workload
		o := report.CheckedObject{
			File: m.File, Line: m.Line, Document: m.Document, Item: m.Item,
			Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, Source: m.Source,
			ImageLines: map[string]int{},
		}
		for _, c := range w.Containers {
			if l, ok := m.ImageLines[manifest.ImageKey(c.Name, c.Image)]; ok {
				o.ImageLines[c.Name] = l
			}
		}
		if checker.NamespaceExempt(w.Namespace) {
			o.Exempt, o.Decision = true, report.Allow
			out[i] = o
			continue
		}
		g.Go(func() error {
			wctx, cancel := context.WithTimeout(ctx, cfg.OfflineWorkloadTimeout())
			defer cancel()
			ex := checker.Examine(wctx, policy.Request{Operation: "CHECK", Namespace: w.Namespace, Mode: mode}, w)
			for _, e := range ex.Containers {
				c := report.CheckedContainer{Name: e.Container.Name, Image: e.Container.Image}
				if e.Image != nil && e.Err == nil {
					c.Digest = e.Image.Digest.String()
				}
				o.Containers = append(o.Containers, c)
			}
			d := webhook.Decide(mode, ex.Violations)
			o.Violations, o.Decision = d.Violations, report.DecisionOf(d.Allowed, d.Violations)
			out[i] = o
			return nil
		})
	}
	_ = g.Wait()
	return out
}
