package webhook

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// The decision line's lists, written by hand, are byte for byte what
// encoding/json wrote for them as slog's JSON handler asks (HTML escaping
// off), digests as their "sha256:<hex>" strings, whatever the strings
// hold: quotes, escapes, control characters, HTML, invalid UTF-8, line
// separators, characters of every width.
func TestLogListsAreWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	// What the lists were before they were written by hand.
	type judgedImage struct {
		Container string `json:"container"`
		Image     string `json:"image"`
		Digest    string `json:"digest,omitempty"`
	}
	type edgeLog struct {
		Digest   string   `json:"digest"`
		Sources  []string `json:"sources"`
		Verified string   `json:"verified"`
	}
	type lineageLogWas struct {
		Container string    `json:"container"`
		Platform  string    `json:"platform"`
		Chain     []edgeLog `json:"chain"`
	}
	encode := func(v any) []byte {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	g := newLogRand()
	str, digest, strs := g.str, g.digest, g.strs
	for round := range 300 {
		var ids policiesLog = strs()
		var js imagesLog
		var wasJS []judgedImage
		var vs violationsLog
		var ps pinsLog
		var ls lineageLog
		var wasLS []lineageLogWas
		for range 1 + g.IntN(3) {
			j := JudgedImage{Container: str(), Image: str(), Digest: digest()}
			js = append(js, j)
			wasJS = append(wasJS, judgedImage{Container: j.Container, Image: j.Image, Digest: j.Digest.String()})
			ps = append(ps, Pin{Container: str(), Image: str(), Pinned: str(), Digest: str()})
			vs = append(vs, policy.Violation{Policy: str(), Action: policy.Action(str()), Msg: str(), Container: str(), Platform: str()})
			l := LineageLog{Container: str(), Platform: str()}
			was := lineageLogWas{Container: l.Container, Platform: l.Platform}
			if g.IntN(5) > 0 {
				l.Chain, was.Chain = []EdgeLog{}, []edgeLog{}
				for range g.IntN(4) {
					e := EdgeLog{Digest: digest(), Sources: strs(), Verified: str()}
					l.Chain = append(l.Chain, e)
					was.Chain = append(was.Chain, edgeLog{Digest: e.Digest.String(), Sources: e.Sources, Verified: e.Verified})
				}
			}
			ls = append(ls, l)
			wasLS = append(wasLS, was)
		}
		for _, c := range []struct {
			name     string
			list     json.Marshaler
			wasWrote any
		}{
			{"policies", ids, []string(ids)},
			{"images", js, wasJS},
			{"violations", vs, []policy.Violation(vs)},
			{"lineage", ls, wasLS},
			{"pinned", ps, []Pin(ps)},
		} {
			got, err := c.list.MarshalJSON()
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, c.name, err)
			}
			if want := encode(c.wasWrote); !bytes.Equal(got, want) {
				t.Fatalf("round %d: %s written by hand\n%s\nencoding/json wrote\n%s", round, c.name, got, want)
			}
			// And as slog's handler writes it, through encoding/json.
			if through := encode(c.list); !bytes.Equal(through, got) {
				t.Fatalf("round %d: %s through encoding/json\n%s\nwant\n%s", round, c.name, through, got)
			}
		}
	}
}

// logRand makes the strings, digests and lists of decision lines at
// random, of every piece a JSON writer could get wrong.
type logRand struct{ *rand.Rand }

func newLogRand() logRand { return logRand{rand.New(rand.NewPCG(1, 2))} }

var logPieces = []string{"", "web", `"`, `\`, "\b\f\n\r\t", "\x00\x01\x1f\x7f", "<script>&amp;", "\xff", "a\xc3", "\u2028\u2029", "é中🙂", "\xed\xa0\x80", "registry.example.com/app:1"}

func (g logRand) str() string {
	var s string
	for range g.IntN(4) {
		s += logPieces[g.IntN(len(logPieces))]
	}
	return s
}

// digest is unset one time in three.
func (g logRand) digest() images.Digest {
	var d images.Digest
	if g.IntN(3) > 0 {
		for i := range d {
			d[i] = byte(g.Uint32())
		}
	}
	return d
}

// strs is nil one time in four.
func (g logRand) strs() []string {
	if g.IntN(4) == 0 {
		return nil
	}
	out := []string{}
	for range g.IntN(4) {
		out = append(out, g.str())
	}
	return out
}
