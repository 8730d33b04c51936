package webhook

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/policy"
)

// strata serve's log handler writes every record byte for byte as slog's
// JSON handler does: the decision line's kinds of values, which it writes
// itself, with strings of every piece a JSON writer could get wrong, and
// any other record, which it leaves to slog.
func TestLogHandlerWritesWhatSlogsJSONHandlerWrites(t *testing.T) {
	t.Parallel()
	g := newLogRand()
	at := time.Date(2026, 12, 1, 18, 4, 5, 123456789, time.FixedZone("", 3600))
	levels := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelInfo + 2}
	// Attributes strata's handler writes itself.
	own := []func() slog.Attr{
		func() slog.Attr { return slog.String("k"+g.str(), g.str()) },
		func() slog.Attr { return slog.Int("n", int(g.Int64N(1<<40))-1<<39) },
		func() slog.Attr { return slog.Uint64("u", g.Uint64()) },
		func() slog.Attr { return slog.Bool("dryRun", g.IntN(2) == 0) },
		func() slog.Attr { return slog.Duration("duration", time.Duration(g.Int64N(1e12))) },
		func() slog.Attr { return slog.Any("policies", policiesLog(append([]string{}, g.strs()...))) },
		func() slog.Attr {
			return slog.Any("images", imagesLog{{Container: g.str(), Image: g.str(), Digest: g.digest()}, {Container: g.str(), Digest: g.digest()}})
		},
		func() slog.Attr {
			return slog.Any("violations", violationsLog{{Policy: g.str(), Action: policy.Enforce, Msg: g.str(), Container: g.str(), Platform: g.str()}})
		},
		func() slog.Attr {
			return slog.Any("lineage", lineageLog{{Container: g.str(), Platform: g.str(), Chain: []EdgeLog{{Digest: g.digest(), Sources: g.strs(), Verified: g.str()}}}, {Container: g.str()}})
		},
		func() slog.Attr {
			return slog.Any("pinned", pinsLog{{Container: g.str(), Image: g.str(), Digest: g.str()}})
		},
	}
	// Attributes left to slog's handler, and the record with them.
	slogs := []func() slog.Attr{
		func() slog.Attr { return slog.Float64("f", g.Float64()) },
		func() slog.Attr { return slog.Group("g", slog.String("k", g.str())) },
		func() slog.Attr { return slog.Any("err", errors.New(g.str())) },
		func() slog.Attr { return slog.Any("list", g.strs()) },
		func() slog.Attr { return slog.Time("at", at) },
		func() slog.Attr { return slog.String("", g.str()) },
	}
	var written, leftToSlog int
	for round := range 2000 {
		when := at.Add(time.Duration(round) * time.Millisecond)
		if round%50 == 0 {
			when = time.Time{}
		}
		r := slog.NewRecord(when, levels[g.IntN(len(levels))], g.str(), 0)
		mine := true
		for range g.IntN(20) {
			if g.IntN(40) == 0 {
				r.AddAttrs(slogs[g.IntN(len(slogs))]())
				mine = false
			} else {
				r.AddAttrs(own[g.IntN(len(own))]())
			}
		}
		var want, got bytes.Buffer
		if err := slog.NewJSONHandler(&want, nil).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		out := NewLogWriter(&got, LogWriterOptions{})
		if err := NewLogHandler(out).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		out.Close()
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("round %d: strata's handler wrote\n%s\nslog's JSON handler\n%s", round, got.Bytes(), want.Bytes())
		}
		if _, ok := appendRecord(nil, r); ok != mine {
			t.Fatalf("round %d: strata's handler wrote the record itself: %t, want %t", round, ok, mine)
		}
		if mine {
			written++
		} else {
			leftToSlog++
		}
	}
	if written < 1000 || leftToSlog < 100 {
		t.Errorf("%d records written by strata's handler, %d left to slog's: the rounds test too little of either", written, leftToSlog)
	}
}
