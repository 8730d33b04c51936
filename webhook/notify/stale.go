package notify

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
)

// StaleFunc says whether a base digest is one its catalog tag has moved
// away from, and which tag; (*lineage.Catalog).Stale is one.
type StaleFunc func(images.Digest) (tag string, now images.Digest, stale bool)

var staleDesc = prometheus.NewDesc("strata_stale_images",
	"Images strata has seen (in the workloads it reviewed last) built on a digest that their catalog base tag has since moved away from, by base tag.",
	[]string{"base"}, nil)

// staleCollector counts, at each scrape, the images of seen built on a
// base that is stale now: a base that moves after an image was admitted
// makes it stale without a new review, and one that had moved before is
// stale from the review on.
type staleCollector struct {
	seen  Source
	stale StaleFunc
}

// NewStaleCollector returns the strata_stale_images collector.
func NewStaleCollector(seen Source, stale StaleFunc) prometheus.Collector {
	return staleCollector{seen: seen, stale: stale}
}

func (c staleCollector) Describe(ch chan<- *prometheus.Desc) { ch <- staleDesc }

func (c staleCollector) Collect(ch chan<- prometheus.Metric) {
	byBase := map[string]map[images.Digest]bool{}
	for _, img := range c.seen.Inventory().Images {
		for _, p := range img.Platforms {
			for _, e := range entries(p.Lineage) {
				tag, stale := c.staleBase(e)
				if !stale {
					continue
				}
				if byBase[tag] == nil {
					byBase[tag] = map[images.Digest]bool{}
				}
				byBase[tag][img.Digest] = true
			}
		}
	}
	for tag, imgs := range byBase {
		ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, float64(len(imgs)), tag)
	}
}

// staleBase says whether e is a base its tag has moved away from, and
// which tag, as the graph and base-freshness say it: the catalog's word,
// so that a move after the review counts, or the lineage's of the review,
// which knows moves the catalog did not see (a tag that had moved before
// strata started, named by a claim or by another tag of the same digest).
func (c staleCollector) staleBase(e lineage.Entry) (string, bool) {
	if tag, _, stale := c.stale(e.Digest); stale {
		return tag, true
	}
	if e.Current {
		return "", false
	}
	switch {
	case e.MovedTag != "":
		return e.MovedTag, true
	case len(e.Refs) > 0:
		return e.Refs[0], true
	}
	return e.ClaimedName, true
}

// entries are l's ancestors and, for a catalog image, the image itself.
func entries(l lineage.Lineage) []lineage.Entry {
	if l.Self == nil {
		return l.Chain
	}
	return append(l.Chain[:len(l.Chain):len(l.Chain)], *l.Self)
}
