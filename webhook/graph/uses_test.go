package graph

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/graph/graphtest"
	"github.com/strata-project/strata/webhook/internal/uniq"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
)

// usedImages are the images of a rebuild list, without the host, and the
// workloads of each.
func usedImages(us []Use) map[string][]string {
	out := map[string][]string{}
	for _, u := range us {
		out[strings.TrimPrefix(u.Image, graphtest.Host+"/")] = u.Workloads
	}
	return out
}

// --uses debian:12 must list what is built on both of the digests the tag
// has pointed to, the old one first, and nothing built on debian:12.7's
// look-alikes: debian-slim:12 (another repository) and the mirror's
// debian:12 (another registry); --uses debian:12.7 must not take in what
// is built on today's debian:12.
func TestUsesListsBothDigestsOfAMovedTagAndNothingOnALookAlike(t *testing.T) {
	t.Parallel()
	inv := family(t)
	oldDigest := ""
	for _, b := range inv.Bases {
		if !b.Current {
			oldDigest = b.Digest.String()
		}
	}
	for _, tc := range []struct {
		ref  string
		want []string
	}{
		{graphtest.Debian, []string{"shop/admin:1.0", "shop/billing:1.0", "shop/cart:1.0", "shop/ledger:1.0", "shop/search:2.0", "shop/web:1.0"}},
		{graphtest.DebianDated, []string{"shop/billing:1.0", "shop/ledger:1.0"}},
		{oldDigest, []string{"shop/billing:1.0", "shop/ledger:1.0"}},
		{graphtest.Host + "/base/debian@" + oldDigest, []string{"shop/billing:1.0", "shop/ledger:1.0"}},
		{graphtest.DebianSlim, []string{"ops/logs:1.0", "ops/metrics:1.0"}},
		{graphtest.MirrorDebian, []string{"ops/backup:1.0"}},
		{graphtest.Temurin, []string{"shop/admin:1.0", "shop/cart:1.0", "shop/web:1.0"}},
		{graphtest.Host + "/base/debian:1", nil},
		{graphtest.Host + "/base/debian", nil}, // :latest, which no base is
		{"debian:12", nil},                     // Docker Hub's, not the family's
	} {
		ref, err := ParseRef(tc.ref)
		if err != nil {
			t.Fatalf("ParseRef(%q) = %v", tc.ref, err)
		}
		us := Uses(inv, ref)
		if got := slices.Sorted(maps.Keys(usedImages(us))); !slices.Equal(got, tc.want) {
			t.Errorf("Uses(%s) images = %v, want %v", tc.ref, got, tc.want)
		}
	}

	ref, _ := ParseRef(graphtest.Debian)
	us := Uses(inv, ref)
	for i, u := range us {
		outdated := u.BaseDigest == oldDigest
		if u.Current == outdated || (i < 2) != outdated {
			t.Errorf("Uses(debian:12)[%d] = %+v: want the two on the old digest first, not current, the rest current", i, u)
		}
		if outdated && u.CurrentDigest == "" {
			t.Errorf("Uses(debian:12)[%d] = %+v, want the digest the tag points to now", i, u)
		}
	}
	var workloads []string
	for _, u := range us {
		workloads = uniq.Append(workloads, u.Workloads...)
	}
	slices.Sort(workloads)
	if want := []string{
		"ops/Deployment/web-canary", "shop/CronJob/billing", "shop/Deployment/admin", "shop/Deployment/search",
		"shop/Deployment/storefront", "shop/Deployment/web", "shop/StatefulSet/ledger",
	}; !slices.Equal(workloads, want) {
		t.Errorf("Uses(debian:12) workloads = %v, want exactly %v", workloads, want)
	}
	if got := usedImages(us)["shop/web:1.0"]; !slices.Equal(got, []string{"ops/Deployment/web-canary", "shop/Deployment/storefront", "shop/Deployment/web"}) {
		t.Errorf("Uses(debian:12) web's workloads = %v, want all three, with their namespaces", got)
	}
	dated, _ := ParseRef(graphtest.DebianDated)
	for _, u := range Uses(inv, dated) {
		if !u.Current {
			t.Errorf("Uses(debian:12.7) = %+v, want current: debian:12.7 still names that digest", u)
		}
	}

	var text, js bytes.Buffer
	if err := WriteUsesText(&text, ref.String(), us); err != nil {
		t.Fatal(err)
	}
	if err := WriteUsesJSON(&js, us); err != nil {
		t.Fatal(err)
	}
	rebuild := 0
	for _, line := range strings.Split(text.String(), "\n") {
		if strings.HasPrefix(line, "rebuild ") {
			rebuild++
			if !strings.Contains(line, oldDigest) || !strings.Contains(line, "shop/") {
				t.Errorf("rebuild line %q: want the old digest and the workloads", line)
			}
		}
	}
	if rebuild != 2 {
		t.Errorf("WriteUsesText(debian:12) has %d rebuild lines, want 2 (billing, ledger):\n%s", rebuild, text.String())
	}
	golden(t, "family.uses.txt", text.Bytes())
	golden(t, "family.uses.json", js.Bytes())
}

func TestParseRefRefusesWhatIsNotAReference(t *testing.T) {
	t.Parallel()
	for _, ref := range []string{"", "Debian:12", "debian:12 ", "sha256:abc", "debian@sha256:zz"} {
		if _, err := ParseRef(ref); err == nil {
			t.Errorf("ParseRef(%q) = nil error, want one", ref)
		}
	}
}

// A workload may run a base itself (a job on debian:12 pinned to the old
// build): it is on the outdated digest as much as what is built on it, and
// the rebuild list names it.
func TestUsesListsAWorkloadRunningTheOutdatedBaseItself(t *testing.T) {
	t.Parallel()
	const debian = "example.test/base/debian:12"
	old, now := digestOf("debian old"), digestOf("debian now")
	inv := &inventory.Inventory{
		Images: []inventory.Image{{Ref: debian + "@" + old.String(), Digest: old, Platforms: []inventory.Platform{{
			Platform: "linux/amd64", Digest: old,
			Lineage: lineage.Lineage{Self: &lineage.Entry{Refs: []string{"example.test/base/debian:12.7"}, Digest: old, Role: "os", MovedTag: debian, CurrentDigest: now}},
		}}}},
		Workloads: []inventory.Workload{{Kind: "Job", Namespace: "ops", Name: "cleanup", Allowed: true,
			Containers: []inventory.Container{{Name: "cleanup", Image: debian + "@" + old.String(), Digest: old}}}},
	}
	ref, _ := ParseRef(debian)
	us := Uses(inv, ref)
	if len(us) != 1 || us[0].Current || us[0].BaseDigest != old.String() || us[0].CurrentDigest != now.String() || !slices.Equal(us[0].Workloads, []string{"ops/Job/cleanup"}) {
		t.Errorf("Uses(%s) = %+v, want the image itself, outdated, run by ops/Job/cleanup", debian, us)
	}
	if rb := Rebuild(inv); len(rb) != 1 || rb[0].ImageDigest != old.String() {
		t.Errorf("Rebuild() = %+v, want the outdated base run directly", rb)
	}
	g := FromInventory(inv, Options{})
	if i := slices.IndexFunc(g.Nodes, func(n Node) bool { return n.Kind == KindImage }); i < 0 || !g.Nodes[i].Stale || g.Nodes[i].Role != "os" {
		t.Errorf("FromInventory() nodes = %+v, want the image stale, of role os", g.Nodes)
	}
	if g := FromInventory(inv, Options{Base: debian}); len(g.Nodes) != 2 || len(g.Edges) != 1 {
		t.Errorf("FromInventory(--base %s) = %+v, want the image and the workload that runs it", debian, g)
	}
}
