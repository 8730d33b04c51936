// Package notify tells a CI system when a catalog base moves: one signed
// JSON event per moved base tag, listing the images strata has seen built
// on the old digest and the workloads that run them, so that they can be
// rebuilt on the patched base. Delivery is queued, retried with backoff and
// never on the admission path.
package notify

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
)

// The event's apiVersion and kind (docs/notifications.md has the schema).
const (
	APIVersion = "strata.dev/v1"
	KindMoved  = "BaseMoved"
)

// MaxListed bounds the images and the workloads one event lists, so that
// an event stays within what CI systems accept (GitHub's repository_dispatch
// refuses a client_payload of 64 KB or more); Truncated says when more were
// seen.
const MaxListed = 100

// MaxEventBytes bounds an event's JSON, GitHub's wrapping included: names
// are a tenant's to choose (a workload name of 253 characters, a pod of
// hundreds of containers), and a hundred entries of them passed 64 KB,
// which GitHub refuses for good. The lists are cut, Truncated set, until
// the event fits.
const MaxEventBytes = 60 << 10

// Event is one moved base. It has ten top-level fields, the most GitHub's
// repository_dispatch accepts in a client_payload.
type Event struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Base is the catalog tag that moved, Role its catalog role.
	Base string `json:"base"`
	Role string `json:"role"`
	// OldDigest and NewDigest are what the tag resolved to before and now
	// (an index or a single manifest).
	OldDigest images.Digest `json:"oldDigest"`
	NewDigest images.Digest `json:"newDigest"`
	// Platforms are the platforms whose image changed.
	Platforms []Platform `json:"platforms"`
	// Images are the images strata has seen built on an old digest, and
	// Workloads the workloads it saw running them, sorted.
	Images    []Image    `json:"images"`
	Workloads []Workload `json:"workloads"`
	// Truncated is set when more than MaxListed images or workloads were
	// seen: the lists hold the first MaxListed of each.
	Truncated bool `json:"truncated"`
}

// Platform is one platform of the moved tag.
type Platform struct {
	Platform   string          `json:"platform"`
	OldDigests []images.Digest `json:"oldDigests"`
	NewDigests []images.Digest `json:"newDigests"`
}

// Image is one image built on an old digest, or that old digest itself
// (a workload running the base directly).
type Image struct {
	// Ref is a canonical reference a workload named it by; Digest what it
	// resolved to.
	Ref    string        `json:"ref"`
	Digest images.Digest `json:"digest"`
	// Platforms are its platforms built on an old digest.
	Platforms []string `json:"platforms"`
}

// Workload is one workload running an image built on an old digest.
type Workload struct {
	Namespace string `json:"namespace,omitempty"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	// Containers are its containers whose image is built on an old digest.
	Containers []string `json:"containers"`
}

// newEvent describes m with what inv saw built on its old digests; inv
// may be nil (nothing seen).
func newEvent(m lineage.Move, inv *inventory.Inventory) Event {
	ev := Event{
		APIVersion: APIVersion, Kind: KindMoved,
		Base: m.Tag, Role: m.Role, OldDigest: m.From, NewDigest: m.To,
		Platforms: make([]Platform, 0, len(m.Platforms)),
		Images:    []Image{},
		Workloads: []Workload{},
	}
	old := map[images.Digest]bool{}
	for _, p := range m.Platforms {
		ev.Platforms = append(ev.Platforms, Platform{Platform: p.Platform, OldDigests: p.From, NewDigests: p.To})
		for _, d := range p.From {
			old[d] = true
		}
	}
	if inv == nil {
		return ev
	}
	stale := map[images.Digest]bool{}
	for _, img := range inv.Images {
		var platforms []string
		for _, p := range img.Platforms {
			if slices.ContainsFunc(bases(p.Lineage), func(d images.Digest) bool { return old[d] }) {
				platforms = append(platforms, p.Platform)
			}
		}
		if len(platforms) > 0 {
			stale[img.Digest] = true
			ev.Images = append(ev.Images, Image{Ref: img.Ref, Digest: img.Digest, Platforms: platforms})
		}
	}
	for _, w := range inv.Workloads {
		var containers []string
		for _, c := range w.Containers {
			if stale[c.Digest] && !slices.Contains(containers, c.Name) {
				containers = append(containers, c.Name)
			}
		}
		if len(containers) > 0 {
			ev.Workloads = append(ev.Workloads, Workload{Namespace: w.Namespace, Kind: w.Kind, Name: w.Name, Containers: containers})
		}
	}
	slices.SortFunc(ev.Workloads, func(a, b Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	if len(ev.Images) > MaxListed || len(ev.Workloads) > MaxListed {
		ev.Truncated = true
		ev.Images = ev.Images[:min(len(ev.Images), MaxListed)]
		ev.Workloads = ev.Workloads[:min(len(ev.Workloads), MaxListed)]
	}
	for i := range ev.Workloads {
		if c := ev.Workloads[i].Containers; len(c) > MaxListed {
			ev.Truncated, ev.Workloads[i].Containers = true, c[:MaxListed]
		}
	}
	ev.fit()
	return ev
}

// fit cuts the longer of the lists, from its end, until the event,
// wrapped as GitHub's client_payload, is at most MaxEventBytes.
func (ev *Event) fit() {
	size := encodedSize(map[string]any{"event_type": GitHubEventType, "client_payload": ev})
	for size > MaxEventBytes && len(ev.Images)+len(ev.Workloads) > 0 {
		ev.Truncated = true
		if len(ev.Workloads) >= len(ev.Images) {
			size -= encodedSize(ev.Workloads[len(ev.Workloads)-1]) + 1
			ev.Workloads = ev.Workloads[:len(ev.Workloads)-1]
		} else {
			size -= encodedSize(ev.Images[len(ev.Images)-1]) + 1
			ev.Images = ev.Images[:len(ev.Images)-1]
		}
	}
}

// encodedSize is the length of v's JSON.
func encodedSize(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}

// bases are the digests an image's platform is built on, and its own
// digest when it is a catalog image itself: a workload that runs a base
// directly needs a redeploy when its tag moves, as the rebuild list of
// strata graph says.
func bases(l lineage.Lineage) []images.Digest {
	out := make([]images.Digest, 0, len(l.Chain)+1)
	for _, e := range l.Chain {
		out = append(out, e.Digest)
	}
	if l.Self != nil {
		out = append(out, l.Self.Digest)
	}
	return out
}
