//go:build loadtest

package bench

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/strata-project/strata/test/bench/load"
	"github.com/strata-project/strata/webhook/demo"
)

// The kinds of object the driver creates.
const (
	kindPod         = "Pod"
	kindPodByDigest = "Pod by digest" // the bench pod with every image by digest: what a pinned template gives
	kindDeployment  = "Deployment"
)

// demoDigests maps each image of benchPodSpec to the same image by digest,
// tag@digest, as the demo registry serves it. strata serve --demo builds
// the same family in its own process, deterministically: the digests are
// the ones it resolves the tags to.
func demoDigests(ctx context.Context) (map[string]string, error) {
	reg, err := demo.Start(ctx)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	out := map[string]string{}
	for _, c := range benchPodSpec().Containers {
		ref, err := name.ParseReference(strings.Replace(c.Image, demo.Host, reg.Addr, 1), name.Insecure)
		if err != nil {
			return nil, err
		}
		desc, err := remote.Head(ref, remote.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("the digest of %s: %w", c.Image, err)
		}
		out[c.Image] = c.Image + "@" + desc.Digest.String()
	}
	return out, nil
}

// dryRunLoad is one run of the client-side load driver: each of its
// clients creating objects of one kind in one namespace with server-side
// dry run, one request at a time, for a fixed time.
type dryRunLoad struct {
	Namespace string
	Kind      string // kindPod, kindPodByDigest or kindDeployment
	// ByDigest maps each image of the bench pod to the same image by
	// digest (tag@digest), for kindPodByDigest.
	ByDigest map[string]string
	Duration time.Duration
}

// dryRunResult counts every create by its answer; latencies are over the
// creates that got an answer from the API server (allowed or denied).
type dryRunResult struct {
	Requests, Allowed, Denied, Errors int
	Sample                            string // the first error
	Seconds, PerSecond                float64
	Latency                           load.Latency
	// latencies are the samples Latency summarizes, kept so that the
	// slices of one scenario add up to one result.
	latencies []time.Duration
}

// plus is r and o as one run: the counts and the times added, the
// latencies summarized over both.
func (r dryRunResult) plus(o dryRunResult) dryRunResult {
	sum := dryRunResult{
		Requests: r.Requests + o.Requests, Allowed: r.Allowed + o.Allowed, Denied: r.Denied + o.Denied, Errors: r.Errors + o.Errors,
		Sample: cmp.Or(r.Sample, o.Sample), Seconds: r.Seconds + o.Seconds,
		latencies: append(slices.Clone(r.latencies), o.latencies...),
	}
	if sum.Seconds > 0 {
		sum.PerSecond = float64(sum.Allowed+sum.Denied) / sum.Seconds
	}
	sum.Latency = load.Summarize(sum.latencies)
	return sum
}

// dryRunClients makes n clients of the API server, each with its own
// connection, as independent kubectl users and controllers have (client-go
// would otherwise multiplex them over one HTTP/2 connection), none
// rate-limited on the client side. They are kept across runs, so that no
// run pays for connecting; closeIdle closes their connections.
func dryRunClients(config *rest.Config, n int) (clients []kubernetes.Interface, closeIdle func(), err error) {
	var https []*http.Client
	closeIdle = func() {
		for _, hc := range https {
			hc.CloseIdleConnections()
		}
	}
	for range n {
		cfg := rest.CopyConfig(config)
		cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
		// A dialer of its own keeps client-go from sharing the transport
		// it caches per TLS configuration.
		cfg.Dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		hc, err := rest.HTTPClientFor(cfg)
		if err != nil {
			closeIdle()
			return nil, nil, err
		}
		https = append(https, hc)
		c, err := kubernetes.NewForConfigAndClient(cfg, hc)
		if err != nil {
			closeIdle()
			return nil, nil, err
		}
		clients = append(clients, c)
	}
	return clients, closeIdle, nil
}

// run drives the API server with every client at once, each with an object
// of its own: client-go's encoder sets an object's kind while it writes it,
// so one object shared by two clients is a data race (it crashed a run).
func (l dryRunLoad) run(ctx context.Context, clients []kubernetes.Interface) (dryRunResult, error) {
	creates := make([]func(context.Context, kubernetes.Interface, metav1.CreateOptions) error, len(clients))
	for i := range clients {
		create, err := l.creator()
		if err != nil {
			return dryRunResult{}, err
		}
		creates[i] = create
	}
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	var (
		mu    sync.Mutex
		res   dryRunResult
		lat   []time.Duration
		wg    sync.WaitGroup
		start = time.Now()
	)
	deadline := start.Add(l.Duration)
	for i, c := range clients {
		create := creates[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var allowed, denied, failed int
			var sample string
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				err := create(ctx, c, dryRun)
				took := time.Since(t0)
				switch {
				case err == nil:
					allowed++
					mine = append(mine, took)
				case apierrors.IsForbidden(err) || apierrors.IsInvalid(err):
					// A webhook's denial is a 403 (strata's) or a 422.
					denied++
					mine = append(mine, took)
					if sample == "" {
						sample = err.Error()
					}
				default:
					failed++
					if sample == "" {
						sample = err.Error()
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, mine...)
			res.Allowed += allowed
			res.Denied += denied
			res.Errors += failed
			if res.Sample == "" {
				res.Sample = sample
			}
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Requests = res.Allowed + res.Denied + res.Errors
	res.PerSecond = float64(res.Allowed+res.Denied) / res.Seconds
	res.latencies = lat
	res.Latency = load.Summarize(lat)
	return res, ctx.Err()
}

// creator returns the dry-run create of l.Kind: each object is named by
// the API server from generateName, as a ReplicaSet's pods are, so a
// webhook never sees the same object twice.
func (l dryRunLoad) creator() (func(context.Context, kubernetes.Interface, metav1.CreateOptions) error, error) {
	switch l.Kind {
	case kindPod, kindPodByDigest:
		pod := benchPod(l.Namespace)
		if l.Kind == kindPodByDigest {
			for i, c := range pod.Spec.Containers {
				pinned, ok := l.ByDigest[c.Image]
				if !ok {
					return nil, fmt.Errorf("%s: no digest for %s", l.Kind, c.Image)
				}
				pod.Spec.Containers[i].Image = pinned
			}
		}
		return func(ctx context.Context, c kubernetes.Interface, o metav1.CreateOptions) error {
			_, err := c.CoreV1().Pods(l.Namespace).Create(ctx, pod, o)
			return err
		}, nil
	case kindDeployment:
		d := benchDeployment(l.Namespace)
		return func(ctx context.Context, c kubernetes.Interface, o metav1.CreateOptions) error {
			_, err := c.AppsV1().Deployments(l.Namespace).Create(ctx, d, o)
			return err
		}, nil
	}
	return nil, fmt.Errorf("kind %q: want %s, %s or %s", l.Kind, kindPod, kindPodByDigest, kindDeployment)
}

// benchPodSpec has three containers on the demo registry's images, each
// compliant with every built-in policy, so that strata in enforce allows
// them after doing all its work: shop/web:1.0 (non-root, on the approved
// base, three levels), and the runtime base/temurin:21 twice, run as a
// non-root user (its image sets none).
func benchPodSpec() corev1.PodSpec {
	nonRoot, uid := true, int64(10001)
	res := corev1.ResourceRequirements{}
	return corev1.PodSpec{
		Containers: []corev1.Container{
			{Name: "web", Image: "strata-demo.local/shop/web:1.0", Resources: res,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}},
			{Name: "jobs", Image: "strata-demo.local/base/temurin:21", Args: []string{"-jar", "/app/jobs.jar"}, Resources: res,
				SecurityContext: &corev1.SecurityContext{RunAsNonRoot: &nonRoot, RunAsUser: &uid}},
			{Name: "metrics", Image: "strata-demo.local/base/temurin:21", Args: []string{"-jar", "/app/metrics.jar"}, Resources: res,
				SecurityContext: &corev1.SecurityContext{RunAsNonRoot: &nonRoot, RunAsUser: &uid}},
		},
	}
}

func benchPod(ns string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "shop-web-7c9d8f6b5-", Namespace: ns, Labels: map[string]string{"app": "shop-web"}},
		Spec:       benchPodSpec(),
	}
}

func benchDeployment(ns string) *appsv1.Deployment {
	replicas := int32(3)
	labels := map[string]string{"app": "shop-web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "shop-web-", Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: benchPodSpec()},
		},
	}
}
