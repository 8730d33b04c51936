package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
)

// kubeFlags are kubectl's flags for reaching a cluster, with kubectl's
// names and meaning, shared by every command that reads one: serve (pods'
// pull secrets) today, audit and graph next. They resolve as kubectl
// resolves them: --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else
// the in-cluster service account.
type kubeFlags struct {
	loading   *clientcmd.ClientConfigLoadingRules
	overrides clientcmd.ConfigOverrides
	// allNamespaces is -A: a command listing objects reads every namespace.
	allNamespaces bool
}

func newKubeFlags() *kubeFlags {
	return &kubeFlags{loading: clientcmd.NewDefaultClientConfigLoadingRules()}
}

// addConnection adds --kubeconfig and --context: where the cluster is.
func (k *kubeFlags) addConnection(fs *pflag.FlagSet) {
	fs.StringVar(&k.loading.ExplicitPath, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster when running in a pod)")
	fs.StringVar(&k.overrides.CurrentContext, "context", "", "the kubeconfig context to use (default: its current context)")
}

// addNamespaces adds -n and -A, for commands that list objects.
func (k *kubeFlags) addNamespaces(fs *pflag.FlagSet) {
	fs.StringVarP(&k.overrides.Context.Namespace, "namespace", "n", "", "the namespace to read (default: the context's namespace, else default)")
	fs.BoolVarP(&k.allNamespaces, "all-namespaces", "A", false, "read every namespace; -n is ignored")
}

// given says whether a cluster was asked for: --kubeconfig, --context, or
// strata running in a pod. serve works without a cluster, and does not go
// reading a developer's $KUBECONFIG or ~/.kube/config unless asked to.
func (k *kubeFlags) given() bool {
	return k.loading.ExplicitPath != "" || k.overrides.CurrentContext != "" || os.Getenv("KUBERNETES_SERVICE_HOST") != ""
}

// clientConfig is the kubeconfig the flags select.
func (k *kubeFlags) clientConfig() clientcmd.ClientConfig {
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(k.loading, &k.overrides)
}

// namespace is the namespace to read: "" with -A, else -n, else the
// context's namespace, else default.
func (k *kubeFlags) namespace() (string, error) {
	if k.allNamespaces {
		return "", nil
	}
	ns, _, err := k.clientConfig().Namespace()
	return ns, err
}

// pullSecrets reads pods' pull secrets through the API server when strata
// can reach one (kubeFlags.given). Without one, every image is read with
// strata's own credentials. The credentials read are cached within
// cacheBytes.
func pullSecrets(k *kubeFlags, cacheBytes int64, logger *slog.Logger) (webhook.Credentials, error) {
	if !k.given() {
		logger.Info("no Kubernetes API configured: pods' imagePullSecrets are not read; strata's own registry credentials are used")
		return nil, nil
	}
	cfg, err := k.clientConfig().ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	// PullSecrets bounds each namespace's reads on its own; client-go's
	// default, 5 per second for the whole webhook, let one namespace's
	// pods queue reads in front of every other's.
	cfg.QPS, cfg.Burst = pullSecretsQPS, 2*pullSecretsQPS
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return images.NewPullSecrets(client, images.PullSecretOptions{CacheBytes: cacheBytes}), nil
}

// pullSecretsQPS is serve's request rate for pull secrets, over all
// namespaces: ten namespaces at PullSecrets' per-namespace rate, so that
// one namespace's pods never fill it.
const pullSecretsQPS = 100

// clusterLister lists a cluster's workloads: inventory.ListCluster.
type clusterLister func(context.Context, kubernetes.Interface, inventory.ListOptions) ([]inventory.Object, error)

// listingQPS is the request rate audit and graph list a cluster at:
// listing pages through every pod-bearing kind, and client-go's default 5
// requests per second would make it the slowest part of either.
const listingQPS = 50

// listingClient is the client of the cluster the flags name, at qps, its
// configuration (for other clients of the same cluster) and the namespace
// to read ("" for all). advice follows an error reaching the cluster.
func (k *kubeFlags) listingClient(qps float32, advice string) (*rest.Config, kubernetes.Interface, string, error) {
	namespace, err := k.namespace()
	if err != nil {
		return nil, nil, "", fmt.Errorf("reading the kubeconfig: %w; %s", err, advice)
	}
	cfg, err := k.clientConfig().ClientConfig()
	if err != nil {
		return nil, nil, "", fmt.Errorf("kubernetes client: %w; %s", err, advice)
	}
	cfg.QPS, cfg.Burst = qps, int(2*qps)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, "", fmt.Errorf("kubernetes client: %w", err)
	}
	return cfg, client, namespace, nil
}

// listFailed is a listing's error with what to check.
func listFailed(namespace string, err error) error {
	return fmt.Errorf("listing the workloads of %s: %w: check that strata may list pods and their owners (deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs) there", namespaceName(namespace), err)
}

// namespaceName names what -n or -A chose, for errors.
func namespaceName(ns string) string {
	if ns == "" {
		return "every namespace"
	}
	return "namespace " + ns
}
