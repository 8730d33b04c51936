// Package audit reports on what already runs in a cluster: the impact
// preview of enforcing (grouped by policy and by base image) and the
// policy reports the report UIs read.
package audit

import (
	"context"
	"errors"

	"k8s.io/client-go/dynamic"

	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/policy"
)

// ReportAPI is the API group reports are written in.
type ReportAPI string

const (
	// ReportAPIWGPolicy is wgpolicyk8s.io/v1alpha2 PolicyReport and
	// ClusterPolicyReport: what Kyverno writes and Policy Reporter reads.
	ReportAPIWGPolicy ReportAPI = "wgpolicyk8s"
	// ReportAPIOpenReports is openreports.io/v1alpha1 Report and ClusterReport.
	ReportAPIOpenReports ReportAPI = "openreports"
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	API ReportAPI
	// QPS bounds the API writes per second. Default: 20.
	QPS float64
	// Policies are the policies evaluated (policy.Engine.Policies): a
	// policy with no violation on a container is reported as a pass.
	Policies []policy.Meta
}

// Scope is what a run listed: reports of workloads inside it that the run
// did not find are deleted; reports outside it are left alone.
type Scope struct {
	Namespace string // "" is every namespace
	Selector  string // a run with a selector deletes nothing
}

// WriteSummary counts what Write did.
type WriteSummary struct {
	Created, Updated, Unchanged, Deleted int
}

// Writer writes one report per workload of an inventory.
type Writer struct {
	client dynamic.Interface
	opts   WriterOptions
}

// NewWriter returns a Writer.
func NewWriter(client dynamic.Interface, opts WriterOptions) *Writer {
	return &Writer{client: client, opts: opts}
}

// Write writes the inventory's reports (being built on branch reports:
// this placeholder fails so that nothing mistakes it for written reports).
func (w *Writer) Write(ctx context.Context, inv *inventory.Inventory, scope Scope) (WriteSummary, error) {
	return WriteSummary{}, errors.New("writing reports is not built yet")
}
