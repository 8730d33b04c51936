package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// APIServerOptions say where the binaries are and where the logs go.
type APIServerOptions struct {
	// ToolsBin holds kube-apiserver and etcd (test/tools/bin: make tools).
	ToolsBin string
	// Dir receives kube-apiserver.log, etcd.log and the admin kubeconfig.
	Dir string
	// AdmissionConfigFile, if set, is kube-apiserver's
	// --admission-control-config-file.
	AdmissionConfigFile string
	// Flags are further kube-apiserver flags, name to value.
	Flags map[string]string
}

// APIServer is a running kube-apiserver and etcd.
type APIServer struct {
	Env        *envtest.Environment
	Config     *rest.Config // the control plane's own admin credentials
	Client     kubernetes.Interface
	Kubeconfig string // an admin kubeconfig file, for kubectl and strata
}

// StartAPIServer starts etcd and kube-apiserver with envtest and writes an
// admin kubeconfig. Stop it with Stop, also after an error.
func StartAPIServer(opts APIServerOptions) (*APIServer, error) {
	f, err := os.Create(filepath.Join(opts.Dir, "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	ef, err := os.Create(filepath.Join(opts.Dir, "etcd.log"))
	if err != nil {
		return nil, err
	}
	a := &APIServer{Env: &envtest.Environment{
		BinaryAssetsDirectory:    opts.ToolsBin,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}}
	api := a.Env.ControlPlane.GetAPIServer()
	api.Out, api.Err = f, f
	if opts.AdmissionConfigFile != "" {
		api.Configure().Append("admission-control-config-file", opts.AdmissionConfigFile)
	}
	for k, v := range opts.Flags {
		api.Configure().Set(k, v)
	}
	a.Env.ControlPlane.Etcd = &envtest.Etcd{Out: ef, Err: ef}
	if a.Config, err = a.Env.Start(); err != nil {
		return a, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", opts.ToolsBin, err)
	}
	if a.Client, err = kubernetes.NewForConfig(a.Config); err != nil {
		return a, err
	}
	admin, err := a.Env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return a, fmt.Errorf("adding the admin user: %w", err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return a, err
	}
	a.Kubeconfig = filepath.Join(opts.Dir, "kubeconfig")
	return a, os.WriteFile(a.Kubeconfig, kc, 0o600)
}

// Stop stops kube-apiserver and etcd.
func (a *APIServer) Stop() error {
	if a == nil || a.Env == nil {
		return nil
	}
	return a.Env.Stop()
}

// CreateNamespace creates the namespace name unless it exists.
func CreateNamespace(ctx context.Context, c kubernetes.Interface, name string) error {
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
