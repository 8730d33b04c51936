package images

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// pushWithLayerSizes pushes a two-layer image under repo:1 with its manifest's
// layer descriptors declaring sizes: what a manifest says, whatever the
// blobs hold (strata never reads a layer blob).
func pushWithLayerSizes(t *testing.T, reg *testRegistry, repo string, sizes ...int64) {
	t.Helper()
	pushEdited(t, reg, repo, "1", testImage(t, len(sizes), "1000", "linux/amd64"), func(m map[string]any) {
		for i, l := range m["layers"].([]any) {
			l.(map[string]any)["size"] = sizes[i]
		}
	})
}

func TestLayerSizesAreTheManifestsDescriptors(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	pushWithLayerSizes(t, reg, "sizes/app", 600<<20, 180)
	img := resolveOK(t, r, reg.ref("sizes/app:1"), Access{})
	f := img.Platforms[0]
	if want := []int64{600 << 20, 180}; !slices.Equal(f.LayerSizes, want) || f.Size != 600<<20+180 {
		t.Errorf("Resolve(sizes/app:1): LayerSizes = %v, Size = %d; want %v, %d", f.LayerSizes, f.Size, want, 600<<20+180)
	}
	if got := f.PrefixSize(1); got != 600<<20 {
		t.Errorf("PrefixSize(1) = %d, want %d", got, 600<<20)
	}
	if got := f.PrefixSize(5); got != f.Size {
		t.Errorf("PrefixSize(5) of 2 layers = %d, want all of them, %d", got, f.Size)
	}
}

// A descriptor of negative size is no layer a runtime pulls; summed, it would
// hide the other layers from the image-size policy.
func TestNegativeLayerSizeHidingTheOthersIsRefused(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	pushWithLayerSizes(t, reg, "negative/app", 600<<20, -(600 << 20))
	_, err := resolveTB(t, r, reg.ref("negative/app:1"))
	if KindOf(err) != KindInvalidContent || !strings.Contains(err.Error(), "layer 1 of -629145600 bytes") {
		t.Errorf("Resolve(negative/app:1) = %v, want an %s error naming the layer", err, KindInvalidContent)
	}
}

// Sizes past what int64 holds in sum saturate rather than wrap to a small
// or negative total.
func TestLayerSizesOverflowingTheSumSaturate(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	pushWithLayerSizes(t, reg, "overflow/app", math.MaxInt64, math.MaxInt64)
	img := resolveOK(t, r, reg.ref("overflow/app:1"), Access{})
	if got := img.Platforms[0].Size; got != math.MaxInt64 {
		t.Errorf("Size of two layers of MaxInt64 bytes = %d, want it saturated at %d", got, int64(math.MaxInt64))
	}
}

func TestHistoryLayersPairStepsWithTheLayersTheyMade(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		history []History
		layers  int
		want    []int
	}{
		{"steps and layers agree", []History{{CreatedBy: "ADD rootfs"}, {CreatedBy: "ENV A=b", EmptyLayer: true}, {CreatedBy: "RUN make"}}, 2, []int{0, -1, 1}},
		{"more steps made a layer than there are layers", []History{{CreatedBy: "ADD rootfs"}, {CreatedBy: "RUN make"}}, 1, nil},
		{"fewer steps than layers", []History{{CreatedBy: "RUN make"}}, 2, nil},
		{"no history", nil, 2, nil},
	} {
		f := &Facts{History: tc.history, LayerSizes: make([]int64, tc.layers)}
		if got := f.HistoryLayers(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: HistoryLayers() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
