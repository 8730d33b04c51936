package webhook

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// LogHandler is strata serve's log: slog's JSON handler writing to a
// LogWriter, but for the records strata writes per admission — flat, of
// strings, numbers, booleans, durations and the decision line's lists —
// which it writes itself, byte for byte as slog's handler would
// (TestLogHandlerWritesWhatSlogsJSONHandlerWrites). slog hands a list to
// encoding/json, which reflects over its type and scans what it writes
// again; through the API server, where strata's caches are cold on each
// admission, that was about a fifth of what strata adds to a warm one
// (BenchmarkAdmitWarmPodCold). Any other record, and every record of a
// logger derived with With or WithGroup, is slog's handler's.
type LogHandler struct {
	slog.Handler
	out *LogWriter
}

// NewLogHandler returns the handler of strata serve's log, writing to out:
// a LogWriter takes each line whole, whichever handler writes it.
func NewLogHandler(out *LogWriter) *LogHandler {
	return &LogHandler{Handler: slog.NewJSONHandler(out, nil), out: out}
}

// logList is a list of the decision line, which appends itself as JSON.
type logList interface {
	appendJSON(b []byte) []byte
}

// lineBuffers are reused: a decision line is a few KB.
var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// maxPooledLineBytes is the largest line buffer kept for the next line.
const maxPooledLineBytes = 64 << 10

func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	buf := lineBuffers.Get().(*[]byte)
	line, ok := appendRecord((*buf)[:0], r)
	var err error
	if ok {
		_, err = h.out.Write(line)
	} else {
		err = h.Handler.Handle(ctx, r)
	}
	if cap(line) <= maxPooledLineBytes {
		*buf = line
		lineBuffers.Put(buf)
	}
	return err
}

// appendRecord appends r as slog's JSON handler (with no options) writes
// it, and reports whether it could: a record with an attribute of another
// kind, an empty key or a time RFC 3339 cannot write is left to slog.
func appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	b = append(b, '{')
	if !r.Time.IsZero() {
		if y := r.Time.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, `"time":"`...)
		b = r.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	b = appendLogString(b, r.Level.String(), slogEscapes)
	b = append(b, `,"msg":`...)
	b = appendLogString(b, r.Message, slogEscapes)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "" {
			ok = false
			return false
		}
		b = append(b, ',')
		b = appendLogString(b, a.Key, slogEscapes)
		b = append(b, ':')
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			b = appendLogString(b, v.String(), slogEscapes)
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindUint64:
			b = strconv.AppendUint(b, v.Uint64(), 10)
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		case slog.KindDuration:
			b = strconv.AppendInt(b, int64(v.Duration()), 10)
		case slog.KindAny:
			l, isList := v.Any().(logList)
			if !isList {
				ok = false
				return false
			}
			b = l.appendJSON(b)
		default:
			ok = false
		}
		return ok
	})
	return append(b, '}', '\n'), ok
}
