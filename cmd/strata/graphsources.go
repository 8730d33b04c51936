package main

import (
	_ "embed"
	"fmt"
	"io"
	"strings"

	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/manifest"
)

// graphDemoManifests are the workloads --demo draws when no -f is given.
//
//go:embed graphdemo.yaml
var graphDemoManifests string

// noClusterAdvice follows an error reaching the cluster: what else to draw.
const noClusterAdvice = "name the cluster with --kubeconfig or --context, or draw manifests with -f, or the demo with --demo"

// readGraphManifests reads -f's manifests, or the demo's own workloads,
// and the namespace to draw ("" for all). -n is kubectl apply's: the
// namespace of the objects that name none; and only it is drawn.
func readGraphManifests(f graphFlags, stdin io.Reader) ([]inventory.Object, string, error) {
	var manifests []manifest.Manifest
	var err error
	if len(f.paths) > 0 {
		if manifests, _, err = manifest.Read(f.paths, stdin, manifest.Limits{}); err != nil {
			return nil, "", readAdvice(err)
		}
	} else if manifests, _, err = manifest.Read([]string{manifest.Stdin}, strings.NewReader(graphDemoManifests), manifest.Limits{}); err != nil {
		return nil, "", fmt.Errorf("reading the demo's workloads: %w", err)
	}
	namespace := ""
	if !f.kube.allNamespaces {
		namespace = f.kube.overrides.Context.Namespace
	}
	for _, m := range manifests {
		if m.Defaulted && namespace != "" {
			m.Workload.Namespace = namespace
		}
	}
	return inventory.FromManifests(manifests), namespace, nil
}

// registriesOf lists the registry hosts of the objects' images.
func registriesOf(objs []inventory.Object) []string {
	ms := make([]manifest.Manifest, len(objs))
	for i, o := range objs {
		ms[i].Workload = o.Workload
	}
	return registries(ms)
}
