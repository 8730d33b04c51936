package load

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Latency summarises a set of request latencies (in JSON, in nanoseconds).
type Latency struct {
	Count int           `json:"count"`
	Mean  time.Duration `json:"meanNanos"`
	P50   time.Duration `json:"p50Nanos"`
	P99   time.Duration `json:"p99Nanos"`
	P999  time.Duration `json:"p999Nanos"`
	Max   time.Duration `json:"maxNanos"`
}

// Summarize computes the nearest-rank percentiles of lat, which it sorts.
func Summarize(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return Latency{
		Count: len(lat),
		Mean:  sum / time.Duration(len(lat)),
		P50:   percentile(lat, 0.50),
		P99:   percentile(lat, 0.99),
		P999:  percentile(lat, 0.999),
		Max:   lat[len(lat)-1],
	}
}

// percentile is the nearest-rank percentile of sorted: the smallest value
// with at least p of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// WriteText writes r for a person.
func (r Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "url          %s\n", r.URL)
	fmt.Fprintf(&b, "concurrency  %d\n", r.Concurrency)
	fmt.Fprintf(&b, "duration     %.2fs\n", r.Seconds)
	fmt.Fprintf(&b, "requests     %d: %d allowed, %d denied, %d with warnings\n", r.Requests, r.Allowed, r.Denied, r.Warned)
	fmt.Fprintf(&b, "errors       %d (transport %d, http %d, malformed %d, admission %d)\n",
		r.Errors.Total(), r.Errors.Transport, r.Errors.HTTP, r.Errors.Malformed, r.Errors.Admission)
	for _, s := range r.Errors.Samples {
		fmt.Fprintf(&b, "             e.g. %s\n", s)
	}
	fmt.Fprintf(&b, "throughput   %.0f admissions/s\n", r.PerSecond)
	l := r.Latency
	fmt.Fprintf(&b, "latency      p50 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
		Ms(l.P50), Ms(l.P99), Ms(l.P999), Ms(l.Max), Ms(l.Mean))
	_, err := io.WriteString(w, b.String())
	return err
}

// Ms formats d in milliseconds with three significant digits or so.
func Ms(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fms", ms)
	}
}
