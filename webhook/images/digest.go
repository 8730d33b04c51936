package images

import (
	"encoding/hex"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Digest is a sha256 content digest held as raw bytes: a cached image keeps
// one per layer, and 32 bytes is a third of the "sha256:<hex>" string.
type Digest [32]byte

// ParseDigest accepts "sha256:<64 lowercase hex>" and nothing else.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	alg, hexPart, ok := strings.Cut(s, ":")
	if !ok || alg != "sha256" {
		return d, fmt.Errorf("digest %q is not a sha256 digest", s)
	}
	if len(hexPart) != 64 {
		return d, fmt.Errorf("digest %q does not have 64 hex characters", s)
	}
	for i := 0; i < len(hexPart); i++ {
		if !isLowerHex(hexPart[i]) {
			return d, fmt.Errorf("digest %q is not lowercase hex", s)
		}
	}
	if _, err := hex.Decode(d[:], []byte(hexPart)); err != nil {
		return d, fmt.Errorf("digest %q: %w", s, err)
	}
	return d, nil
}

func digestFromHash(h v1.Hash) (Digest, error) { return ParseDigest(h.String()) }

// IsZero reports an unset digest.
func (d Digest) IsZero() bool { return d == Digest{} }

// String is "sha256:<hex>", in one allocation: the decision log writes a
// digest per container and per lineage entry of every admission.
func (d Digest) String() string {
	if d.IsZero() {
		return ""
	}
	var b [len(digestPrefix) + 2*len(d)]byte
	return string(d.appendTo(b[:0]))
}

const digestPrefix = "sha256:"

func (d Digest) appendTo(b []byte) []byte {
	return hex.AppendEncode(append(b, digestPrefix...), d[:])
}

// AppendText appends the digest's string form to b, nothing when unset:
// the decision line writes one per container and lineage entry without a
// string of its own.
func (d Digest) AppendText(b []byte) ([]byte, error) {
	if d.IsZero() {
		return b, nil
	}
	return d.appendTo(b), nil
}

// MarshalText makes a Digest appear as "sha256:<hex>" in JSON documents.
func (d Digest) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	return d.appendTo(make([]byte, 0, len(digestPrefix)+2*len(d))), nil
}

// UnmarshalText is the inverse of MarshalText.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Digest{}
		return nil
	}
	parsed, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}
