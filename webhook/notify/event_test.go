package notify

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
)

// docs/notifications.md: each list of an event holds at most 100 entries,
// truncated saying more were seen, so that the event stays under the 64 KB
// GitHub accepts in a client_payload; a list of 100 is not truncated.
func TestEventListsAtMostAHundredImagesAndWorkloads(t *testing.T) {
	old, rebuilt := images.Digest{1}, images.Digest{2}
	m := lineage.Move{Tag: "registry.example.com/base/os:1", Role: "os", From: old, To: rebuilt,
		Platforms: []lineage.PlatformMove{{Platform: "linux/amd64", From: []images.Digest{old}, To: []images.Digest{rebuilt}}}}
	seen := func(n int) *inventory.Inventory {
		inv := &inventory.Inventory{}
		for i := range n {
			d := images.Digest{3, byte(i), byte(i >> 8)}
			ref := fmt.Sprintf("registry.example.com/a-team-with-a-long-name/application-%04d:1.0", i)
			inv.Images = append(inv.Images, inventory.Image{Ref: ref, Digest: d, Platforms: []inventory.Platform{
				{Platform: "linux/amd64", Lineage: lineage.Lineage{Chain: []lineage.Entry{{Digest: old}}}}}})
			inv.Workloads = append(inv.Workloads, inventory.Workload{Kind: "Deployment", Namespace: "a-namespace-with-a-long-name", Name: fmt.Sprintf("application-%04d", i),
				Containers: []inventory.Container{{Name: "app", Image: ref, Digest: d}}})
		}
		return inv
	}
	for _, tc := range []struct {
		seen, listed int
		truncated    bool
	}{{100, 100, false}, {101, 100, true}, {5000, 100, true}} {
		ev := newEvent(m, seen(tc.seen))
		body, err := json.Marshal(map[string]any{"event_type": GitHubEventType, "client_payload": ev})
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Images) != tc.listed || len(ev.Workloads) != tc.listed || ev.Truncated != tc.truncated || len(body) >= 64<<10 {
			t.Errorf("event of %d images and workloads seen = %d images, %d workloads, truncated %v, %d bytes; want %d each, truncated %v, under 64 KB",
				tc.seen, len(ev.Images), len(ev.Workloads), ev.Truncated, len(body), tc.listed, tc.truncated)
		}
	}
}
