package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// webhookDurationMetric is the API server's histogram of the time each
// admission webhook call took, as the API server saw it (connection,
// TLS, request, the webhook's work, response), labelled by webhook name.
const webhookDurationMetric = "apiserver_admission_webhook_admission_duration_seconds"

// histogram is one webhook's cumulative histogram: bucket upper bounds in
// seconds (ascending, +Inf last) and the count at or below each.
type histogram struct {
	bounds []float64
	counts []float64
	sum    float64
	count  float64
}

// webhookHistograms parses the API server's /metrics text and returns the
// webhook duration histogram of each webhook name, summed over its other
// labels (operation, rejected, type).
func webhookHistograms(r io.Reader) (map[string]*histogram, error) {
	out := map[string]*histogram{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, webhookDurationMetric+"_") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("metrics line without a value: %q", line)
		}
		metric, labelText, _ := strings.Cut(series, "{")
		labels := parseLabels(strings.TrimSuffix(labelText, "}"))
		// A timestamp may follow the value.
		value, _, _ = strings.Cut(value, " ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		name := labels["name"]
		h := out[name]
		if h == nil {
			h = &histogram{}
			out[name] = h
		}
		switch strings.TrimPrefix(metric, webhookDurationMetric) {
		case "_bucket":
			le, err := strconv.ParseFloat(labels["le"], 64) // "+Inf" parses
			if err != nil {
				return nil, fmt.Errorf("metrics line %q: bucket bound: %w", line, err)
			}
			i, found := slices.BinarySearch(h.bounds, le)
			if !found {
				h.bounds = slices.Insert(h.bounds, i, le)
				h.counts = slices.Insert(h.counts, i, 0)
			}
			h.counts[i] += v
		case "_sum":
			h.sum += v
		case "_count":
			h.count += v
		}
	}
	return out, sc.Err()
}

// parseLabels reads `a="x",b="y"`; label values here hold no quotes or
// commas (webhook names, operations, booleans, numbers).
func parseLabels(s string) map[string]string {
	labels := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			labels[k] = strings.Trim(v, `"`)
		}
	}
	return labels
}

// since is h minus an earlier reading of the same histogram: what happened
// in between. A nil h or before means nothing had been observed.
func (h *histogram) since(before *histogram) *histogram {
	if h == nil {
		return &histogram{}
	}
	d := &histogram{bounds: h.bounds, counts: slices.Clone(h.counts), sum: h.sum, count: h.count}
	if before == nil {
		return d
	}
	for i, b := range h.bounds {
		if j, ok := slices.BinarySearch(before.bounds, b); ok {
			d.counts[i] -= before.counts[j]
		}
	}
	d.sum -= before.sum
	d.count -= before.count
	return d
}

// mean is the average observation.
func (h *histogram) mean() time.Duration {
	if h == nil || h.count == 0 {
		return 0
	}
	return seconds(h.sum / h.count)
}

// quantile estimates the q-quantile as Prometheus's histogram_quantile
// does: linear interpolation inside the bucket that holds it, the lower
// bound of the first bucket being 0. Past the last finite bound it answers
// that bound. Its precision is the bucket width.
func (h *histogram) quantile(q float64) time.Duration {
	if h == nil || h.count == 0 || len(h.bounds) == 0 {
		return 0
	}
	rank := q * h.counts[len(h.counts)-1]
	lower, below := 0.0, 0.0
	for i, upper := range h.bounds {
		if h.counts[i] >= rank {
			if math.IsInf(upper, 1) {
				return seconds(lower)
			}
			in := h.counts[i] - below
			if in == 0 {
				return seconds(upper)
			}
			return seconds(lower + (upper-lower)*(rank-below)/in)
		}
		lower, below = upper, h.counts[i]
	}
	return seconds(lower)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
