package bench

import "time"

// The harnesses' defaults, which test/bench/README.md states. They live in
// a file without a build tag so that the README's test
// (benchreadme_test.go) reads the values the -tags loadtest harnesses run
// with.

// make bench-load (load_test.go).
const (
	defaultDuration   = 10 * time.Second // BENCH_DURATION: each floor and warm run
	defaultColdImages = 2000             // BENCH_COLD_IMAGES
	defaultCatalog    = 200              // BENCH_CATALOG: runtime bases
	defaultColdN      = 20000            // BENCH_COLD_N
	// warmUpRequests are sent at warmUpConcurrency before any run counts.
	warmUpRequests    = 500
	warmUpConcurrency = 8
	// probeShare: the concurrency-1 run lasts this share of the duration.
	probeShare = 4
	// firstColdImages: at most this many cold images go one at a time.
	firstColdImages = 200
)

// defaultConcurrency: the floor and warm runs after the concurrency-1 probe.
var defaultConcurrency = []int{8, 32}

// make bench-apiserver (apiserver_test.go).
const (
	defaultAPIDuration = 7 * time.Second // BENCH_API_DURATION
	defaultAPIRounds   = 7               // BENCH_API_ROUNDS
	apiWarmup          = 2 * time.Second // each scenario and kind, once, at the highest concurrency
)

var apiConcurrency = []int{4, 16}

// make bench-audit (audit_test.go).
const (
	defaultAuditNamespaces = 200  // BENCH_AUDIT_NAMESPACES
	defaultAuditImages     = 1000 // BENCH_AUDIT_IMAGES
	defaultAuditCatalog    = 200  // BENCH_AUDIT_CATALOG
	podsPerWorkload        = 5
	auditCreators          = 16 // workloads created at a time
)

// Each namespace holds 6 Deployments, 2 StatefulSets, a DaemonSet and a
// CronJob, each with 5 running pods: 200 namespaces are 2,000 workloads
// and 10,000 pods.
var auditKinds = []string{"Deployment", "Deployment", "Deployment", "Deployment", "Deployment", "Deployment", "StatefulSet", "StatefulSet", "DaemonSet", "CronJob"}
