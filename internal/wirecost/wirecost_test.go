package wirecost

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// server registers the metrics the tally reads, with the labels webhook.Serve
// gives them, and a metric it does not read.
func server(t *testing.T) (*prometheus.Registry, *prometheus.CounterVec, *prometheus.CounterVec, *prometheus.HistogramVec) {
	t.Helper()
	reg := prometheus.NewRegistry()
	accepted := prometheus.NewCounterVec(prometheus.CounterOpts{Name: acceptedMetric, Help: "h"}, []string{"listener"})
	handshakes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: handshakesMetric, Help: "h"}, []string{"resumed", "protocol"})
	answers := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: answersMetric, Help: "h", Buckets: []float64{128, 256}}, []string{"path"})
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_decisions_total", Help: "h"})
	reg.MustRegister(accepted, handshakes, answers, other)
	other.Add(99)
	return reg, accepted, handshakes, answers
}

// The registry and its /metrics page are two readings of one server: they
// tally the same, the health listener's connections and other metrics left
// out; and Since, Plus and MeanAnswer count what happened between readings.
func TestRegistryAndMetricsPageTallyAlike(t *testing.T) {
	reg, accepted, handshakes, answers := server(t)
	accepted.WithLabelValues("webhook").Add(3)
	accepted.WithLabelValues("health").Add(50)
	handshakes.WithLabelValues("false", "http/1.1").Add(2)
	handshakes.WithLabelValues("true", "http/1.1").Add(1)
	answers.WithLabelValues("/validate/enforce").Observe(100)
	answers.WithLabelValues("/validate/enforce").Observe(200)
	answers.WithLabelValues("/mutate/pin").Observe(400)

	gathered, err := Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	enc := expfmt.NewEncoder(&page, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	parsed, err := Parse(&page)
	if err != nil {
		t.Fatal(err)
	}
	want := Cost{Accepted: 3, Full: 2, Resumed: 1,
		Protocols:   map[string]float64{"http/1.1": 3},
		Answers:     map[string]float64{"/validate/enforce": 2, "/mutate/pin": 1},
		AnswerBytes: map[string]float64{"/validate/enforce": 300, "/mutate/pin": 400}}
	if !reflect.DeepEqual(gathered, want) {
		t.Errorf("Gather = %+v, want %+v", gathered, want)
	}
	if !reflect.DeepEqual(parsed, want) {
		t.Errorf("Parse = %+v, want %+v", parsed, want)
	}
	if got := gathered.MeanAnswer("/validate/enforce"); got != 150 {
		t.Errorf("MeanAnswer(/validate/enforce) = %v, want 150", got)
	}
	if got := gathered.MeanAnswer("/validate/warn"); got != 0 {
		t.Errorf("MeanAnswer(a path never answered) = %v, want 0", got)
	}

	accepted.WithLabelValues("webhook").Add(1)
	handshakes.WithLabelValues("false", "h2").Add(1)
	answers.WithLabelValues("/validate/enforce").Observe(120)
	later, err := Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	between := later.Since(gathered)
	wantBetween := Cost{Accepted: 1, Full: 1,
		Protocols:   map[string]float64{"h2": 1},
		Answers:     map[string]float64{"/validate/enforce": 1},
		AnswerBytes: map[string]float64{"/validate/enforce": 120}}
	if !reflect.DeepEqual(between, wantBetween) {
		t.Errorf("Since = %+v, want %+v (protocols and paths with nothing in between left out)", between, wantBetween)
	}
	// What was there before plus what happened since is what is there now.
	if sum := gathered.Plus(between); !reflect.DeepEqual(sum, later) {
		t.Errorf("Plus = %+v, want %+v, the later reading", sum, later)
	}
	if gathered.Accepted != 3 || gathered.Answers["/validate/enforce"] != 2 {
		t.Errorf("Plus changed its receiver: %+v, want Accepted 3 and 2 answers on /validate/enforce", gathered)
	}
}

func TestParseRefusesAGarbledPage(t *testing.T) {
	if _, err := Parse(bytes.NewBufferString(acceptedMetric + `{listener="webhook"} twelve` + "\n")); err == nil {
		t.Error("Parse(a value that is not a number) = nil error, want one")
	}
}
