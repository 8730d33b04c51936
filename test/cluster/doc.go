// Package cluster starts what the end-to-end suite (test/e2e) and the
// API-server benchmark (test/bench, make bench-apiserver) run strata
// against: kube-apiserver and etcd through envtest, a test certificate
// authority, and subprocesses whose output goes to a log file. It is test
// support: nothing in strata imports it.
package cluster
