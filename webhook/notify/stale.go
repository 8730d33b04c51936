package notify

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/webhook/images"
)

// StaleFunc says whether a base digest is one its catalog tag has moved
// away from, and which tag; (*lineage.Catalog).Stale is one.
type StaleFunc func(images.Digest) (tag string, now images.Digest, stale bool)

var staleDesc = prometheus.NewDesc("strata_stale_images",
	"Images strata has seen (in the workloads it reviewed last) built on a digest that their catalog base tag has since moved away from, by base tag.",
	[]string{"base"}, nil)

// staleCollector counts, at each scrape, the images of seen built on a
// base that is stale now: a base that moves after an image was admitted
// makes it stale without a new review.
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
			for _, d := range bases(p.Lineage) {
				tag, _, stale := c.stale(d)
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
