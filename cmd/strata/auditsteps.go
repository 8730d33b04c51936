package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/audit"
	"github.com/strata-project/strata/webhook/inventory"
)

// writeReports writes the inventory's reports and says on stderr what
// changed, so that -o json on stdout stays one document.
func writeReports(ctx context.Context, w *audit.Writer, inv *inventory.Inventory, scope audit.Scope, stderr io.Writer) error {
	sum, err := w.Write(ctx, inv, scope)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted while writing reports (%d created, %d updated, %d deleted so far): run the audit again to finish them", sum.Created, sum.Updated, sum.Deleted)
		}
		return fmt.Errorf("writing reports: %w", err)
	}
	fmt.Fprintf(stderr, "reports: %d created, %d updated, %d unchanged, %d deleted\n", sum.Created, sum.Updated, sum.Unchanged, sum.Deleted)
	return nil
}

// distinctImages counts the images named by the workloads to evaluate:
// each is resolved once per run, so it is the progress's images to resolve.
func distinctImages(objs []inventory.Object, checker *webhook.Checker) int {
	seen := map[string]bool{}
	for _, o := range objs {
		if checker.NamespaceExempt(o.Workload.Namespace) {
			continue
		}
		for _, c := range o.Workload.Containers {
			seen[c.Image] = true
		}
	}
	return len(seen)
}

// auditBudget is the registry budget of one workload: --timeout when given,
// else the longer of its default and the config's registry.timeout, which
// is sized for the webhook.
func auditBudget(configured, flag time.Duration, flagSet bool) time.Duration {
	if flagSet || configured < flag {
		return flag
	}
	return configured
}
