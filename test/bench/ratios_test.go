package bench

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// roundRatios pairs each round's throughput with the no-op's in the same
// round: their median and range show how far one round's drift moved the
// ratio, which the ratio of the sums averages out.
func roundRatios(rounds, noop []float64) string {
	var ratios []float64
	for i := range min(len(rounds), len(noop)) {
		if noop[i] > 0 {
			ratios = append(ratios, rounds[i]/noop[i])
		}
	}
	if len(ratios) == 0 {
		return "—"
	}
	slices.Sort(ratios)
	median := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		median = (ratios[len(ratios)/2-1] + median) / 2
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", median, ratios[0], ratios[len(ratios)-1])
}

// ratioInterval is a 95 % interval of the ratio of two scenarios'
// throughputs, from their rounds (slices of equal length, in round order):
// the rounds are drawn again with replacement, each with its pair from the
// same round, and the ratio of the sums taken of each draw. It says how
// far the table's ratio could have moved had the machine's drift fallen
// on other rounds: a row whose interval holds 1.00 is not told apart from
// the no-op by this run. The draws are seeded, so that one run's rounds
// always print the same interval.
func ratioInterval(rounds, noop []float64) string {
	lo, hi, ok := pairedInterval(rounds, noop, 0.95)
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

// resamples is how many draws ratioInterval takes: enough that the 2.5th
// and 97.5th percentiles move by less than the table's two decimals.
const resamples = 10000

func pairedInterval(rounds, noop []float64, level float64) (lo, hi float64, ok bool) {
	n := min(len(rounds), len(noop))
	if n < 2 {
		return 0, 0, false
	}
	r := rand.New(rand.NewPCG(1, 2))
	ratios := make([]float64, 0, resamples)
	for range resamples {
		var a, b float64
		for range n {
			i := r.IntN(n)
			a += rounds[i]
			b += noop[i]
		}
		if b > 0 {
			ratios = append(ratios, a/b)
		}
	}
	if len(ratios) == 0 {
		return 0, 0, false
	}
	slices.Sort(ratios)
	tail := (1 - level) / 2
	return ratios[int(tail*float64(len(ratios)-1))], ratios[int((1-tail)*float64(len(ratios)-1))], true
}

func TestRatioIntervalOfRoundsThatAgreeIsTheirRatio(t *testing.T) {
	noop := []float64{400, 520, 610, 380, 450, 500, 470}
	var strata []float64
	for _, x := range noop {
		strata = append(strata, 0.9*x)
	}
	if got := ratioInterval(strata, noop); got != "0.90–0.90" {
		t.Errorf("ratioInterval of rounds each 0.9 of the no-op's = %q, want 0.90–0.90", got)
	}
}

// Rounds whose ratio moves with the machine give an interval that holds
// the ratio of the sums and is as wide as the spread allows, not wider.
func TestRatioIntervalHoldsTheRatioOfTheSums(t *testing.T) {
	noop := []float64{500, 500, 500, 500, 500, 500, 500}
	strata := []float64{450, 550, 470, 530, 480, 520, 500} // ratios 0.90–1.10, sum ratio 1.00
	lo, hi, ok := pairedInterval(strata, noop, 0.95)
	if !ok {
		t.Fatal("pairedInterval: no interval for 7 rounds")
	}
	if !(lo < 1 && hi > 1) {
		t.Errorf("interval %.3f–%.3f does not hold the ratio of the sums, 1.00", lo, hi)
	}
	if lo < 0.90 || hi > 1.10 {
		t.Errorf("interval %.3f–%.3f is wider than the rounds' own ratios (0.90–1.10)", lo, hi)
	}
	if again, _, _ := pairedInterval(strata, noop, 0.95); again != lo {
		t.Errorf("a second call gave %.4f, the first %.4f: the draws must be seeded", again, lo)
	}
}

func TestRatioIntervalNeedsTwoRounds(t *testing.T) {
	if got := ratioInterval([]float64{500}, []float64{480}); got != "—" {
		t.Errorf("ratioInterval of one round = %q, want —", got)
	}
}
