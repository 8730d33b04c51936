package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
)

// A hundred entries of each list kept an event under GitHub's 64 KB only
// while names were short. Names are a tenant's: a workload name of 253
// characters, a repository of 255, and a pod of hundreds of containers, each
// named in 63 characters, all on the moved base. Over 64 KB, GitHub refuses
// the dispatch (422), the notifier takes the refusal as final, and the
// rebuild of every team's images on the patched base is never triggered.
func TestEventStaysUnderGitHubsLimitWhateverTheNames(t *testing.T) {
	t.Parallel()
	old, rebuilt := images.Digest{1}, images.Digest{2}
	m := lineage.Move{Tag: "registry.example.com/base/os:1", Role: "os", From: old, To: rebuilt,
		Platforms: []lineage.PlatformMove{{Platform: "linux/amd64", From: []images.Digest{old}, To: []images.Digest{rebuilt}}}}
	onOld := []inventory.Platform{{Platform: "linux/amd64", Lineage: lineage.Lineage{Chain: []lineage.Entry{{Digest: old}}}}}
	long := func(i, n int) string { s := fmt.Sprintf("n%04d-", i); return s + strings.Repeat("x", n-len(s)) }

	manyLongNames := &inventory.Inventory{}
	for i := range 100 {
		d := images.Digest{3, byte(i)}
		ref := "registry.example.com/" + long(i, 255) + ":1"
		manyLongNames.Images = append(manyLongNames.Images, inventory.Image{Ref: ref, Digest: d, Platforms: onOld})
		manyLongNames.Workloads = append(manyLongNames.Workloads, inventory.Workload{Kind: "Deployment", Namespace: long(0, 63), Name: long(i, 253),
			Containers: []inventory.Container{{Name: "app", Image: ref, Digest: d}}})
	}
	manyContainers := &inventory.Inventory{Images: []inventory.Image{{Ref: "registry.example.com/team/app:1", Digest: images.Digest{3}, Platforms: onOld}}}
	w := inventory.Workload{Kind: "Pod", Namespace: "team", Name: "wide"}
	for i := range 1000 {
		w.Containers = append(w.Containers, inventory.Container{Name: long(i, 63), Image: "registry.example.com/team/app:1", Digest: images.Digest{3}})
	}
	manyContainers.Workloads = []inventory.Workload{w}

	for name, inv := range map[string]*inventory.Inventory{"a hundred long names": manyLongNames, "a thousand containers": manyContainers} {
		ev := newEvent(m, inv)
		body, err := json.Marshal(map[string]any{"event_type": GitHubEventType, "client_payload": ev})
		if err != nil {
			t.Fatal(err)
		}
		if len(body) >= 64<<10 || !ev.Truncated || len(ev.Workloads) == 0 {
			t.Errorf("event of %s = %d bytes, truncated %v, %d workloads; want under 64 KB, truncated, and some workload listed", name, len(body), ev.Truncated, len(ev.Workloads))
		}
		// The client_payload itself, the generic body: at most MaxEventBytes
		// (docs/notifications.md's 60 KiB).
		if payload, err := json.Marshal(ev); err != nil || len(payload) > MaxEventBytes {
			t.Errorf("event of %s = %d bytes (%v), want at most MaxEventBytes, %d", name, len(payload), err, MaxEventBytes)
		}
	}
}
