// Package e2e is strata's end-to-end suite: the real strata binary behind a
// real kube-apiserver (envtest, from test/tools/bin), driven by the real
// kubectl, resolving images from Debian's docker-registry over TLS, one
// instance without auth and one with htpasswd auth. It runs only with the
// e2e build tag: make e2e.
package e2e
