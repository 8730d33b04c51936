package main

import (
	"fmt"
	"log/slog"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/images"
)

// pullSecrets reads pods' pull secrets through the API server when strata
// can reach one: --kubeconfig, or the in-cluster service account. Without
// either, every image is read with strata's own credentials. The
// credentials read are cached within cacheBytes.
func pullSecrets(kubeconfig string, cacheBytes int64, logger *slog.Logger) (webhook.Credentials, error) {
	var cfg *rest.Config
	var err error
	switch {
	case kubeconfig != "":
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	case os.Getenv("KUBERNETES_SERVICE_HOST") != "":
		cfg, err = rest.InClusterConfig()
	default:
		logger.Info("no Kubernetes API configured: pods' imagePullSecrets are not read; strata's own registry credentials are used")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return images.NewPullSecrets(client, images.PullSecretOptions{CacheBytes: cacheBytes}), nil
}
