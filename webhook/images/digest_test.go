package images

import (
	"encoding/json"
	"testing"
)

// A digest is written as "sha256:<hex>" (nothing when unset), in one
// allocation since the decision log writes one per container and lineage
// entry, and read back as the same digest.
func TestDigestIsWrittenAsSha256HexInOneAllocation(t *testing.T) {
	const s = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	d, err := ParseDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.String(); got != s {
		t.Errorf("Digest.String() = %q, want %q", got, s)
	}
	if got, err := json.Marshal(struct{ D, Zero Digest }{D: d}); err != nil || string(got) != `{"D":"`+s+`","Zero":""}` {
		t.Errorf("json.Marshal = %s, %v; want the digest and an empty string", got, err)
	}
	var back struct{ D, Zero Digest }
	if err := json.Unmarshal([]byte(`{"D":"`+s+`","Zero":""}`), &back); err != nil || back.D != d || !back.Zero.IsZero() {
		t.Errorf("json.Unmarshal = %+v, %v; want the digest and a zero one", back, err)
	}
	if got := (Digest{}).String(); got != "" {
		t.Errorf("Digest{}.String() = %q, want \"\"", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = d.String() }); n != 1 {
		t.Errorf("Digest.String: %.0f allocations, want 1", n)
	}
}
