package graph

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/graph/graphtest"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
)

// digestOf is a made-up, well-formed digest for hand-built inventories.
func digestOf(s string) images.Digest { return images.Digest(sha256.Sum256([]byte(s))) }

func labels(g *Graph, kind Kind) []string {
	var out []string
	for _, n := range g.Nodes {
		if n.Kind == kind {
			out = append(out, strings.TrimPrefix(strings.TrimPrefix(n.Label, graphtest.Host+"/"), graphtest.MirrorHost+"/"))
		}
	}
	slices.Sort(out)
	return out
}

func TestFiltersKeepTheSubgraphAskedFor(t *testing.T) {
	t.Parallel()
	inv := family(t)
	for _, tc := range []struct {
		name                     string
		opts                     Options
		bases, images, workloads []string
	}{
		{
			name: "--base debian:12: what is built on either digest, and who runs it",
			opts: Options{Base: graphtest.Debian},
			bases: []string{
				"base/debian:12@sha256:31620ac435c1", "base/debian:12@sha256:e258b51b71f8", "base/temurin:21@sha256:9798bf7e813d",
			},
			images: []string{"shop/admin:1.0", "shop/billing:1.0", "shop/cart:1.0", "shop/ledger:1.0", "shop/search:2.0", "shop/web:1.0"},
			workloads: []string{
				"ops/Deployment/web-canary", "shop/CronJob/billing", "shop/Deployment/admin", "shop/Deployment/search",
				"shop/Deployment/storefront", "shop/Deployment/web", "shop/StatefulSet/ledger",
			},
		},
		{
			name:      "--base temurin:21: not the debian below it",
			opts:      Options{Base: graphtest.Temurin},
			bases:     []string{"base/temurin:21@sha256:9798bf7e813d"},
			images:    []string{"shop/admin:1.0", "shop/cart:1.0", "shop/web:1.0"},
			workloads: []string{"ops/Deployment/web-canary", "shop/Deployment/admin", "shop/Deployment/storefront", "shop/Deployment/web"},
		},
		{
			name: "-n ops: its workloads, what they run, and those images' bases",
			opts: Options{Namespace: "ops"},
			bases: []string{
				"base/debian-slim:12@sha256:32f1f8596ab6", "base/debian:12@sha256:31620ac435c1", "base/debian:12@sha256:9f2a274199b6", "base/temurin:21@sha256:9798bf7e813d",
			},
			images: []string{"ops/backup:1.0", "ops/legacy:1.0", "ops/logs:1.0", "ops/metrics:1.0", "shop/web:1.0"},
			workloads: []string{
				"ops/CronJob/backup", "ops/DaemonSet/metrics", "ops/Deployment/broken", "ops/Deployment/legacy", "ops/Deployment/logs", "ops/Deployment/web-canary",
			},
		},
		{
			name: "--violations: what fails, and the bases it is built on (with the stale digest's successor)",
			opts: Options{Violations: true},
			bases: []string{
				"base/debian-slim:12@sha256:32f1f8596ab6", "base/debian:12@sha256:31620ac435c1", "base/debian:12@sha256:9f2a274199b6",
				"base/debian:12@sha256:e258b51b71f8", "base/temurin:21@sha256:9798bf7e813d",
			},
			images: []string{"ops/backup:1.0", "ops/legacy:1.0", "ops/logs:1.0", "ops/metrics:1.0", "shop/admin:1.0", "shop/billing:1.0", "shop/ledger:1.0"},
			workloads: []string{
				"ops/CronJob/backup", "ops/DaemonSet/metrics", "ops/Deployment/broken", "ops/Deployment/legacy", "ops/Deployment/logs",
				"shop/CronJob/billing", "shop/Deployment/admin", "shop/StatefulSet/ledger",
			},
		},
		{
			name: "--base and -n together: only shop's part above debian-slim, which is nothing",
			opts: Options{Base: graphtest.DebianSlim, Namespace: "shop"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := FromInventory(inv, tc.opts)
			if got := labels(g, KindBase); !slices.Equal(got, tc.bases) {
				t.Errorf("bases = %v, want %v", got, tc.bases)
			}
			if got := labels(g, KindImage); !slices.Equal(got, tc.images) {
				t.Errorf("images = %v, want %v", got, tc.images)
			}
			if got := labels(g, KindWorkload); !slices.Equal(got, tc.workloads) {
				t.Errorf("workloads = %v, want %v", got, tc.workloads)
			}
			ids := map[string]bool{}
			for _, n := range g.Nodes {
				ids[n.ID] = true
			}
			for _, e := range g.Edges {
				if !ids[e.From] || !ids[e.To] {
					t.Errorf("edge %+v leaves the subgraph", e)
				}
			}
			for _, u := range g.Rebuild {
				if !ids[imageID(u.ImageDigest)] {
					t.Errorf("rebuild %+v names an image outside the subgraph", u)
				}
			}
		})
	}
}

func TestAnUnreadableBaseFilterKeepsNothing(t *testing.T) {
	t.Parallel()
	if g := FromInventory(family(t), Options{Base: "Not A Ref"}); len(g.Nodes) != 0 || len(g.Edges) != 0 {
		t.Errorf("FromInventory(Base: unreadable) = %d nodes, %d edges; want none", len(g.Nodes), len(g.Edges))
	}
}

// A multi-platform image has a chain per platform: each platform's bases
// are their own nodes, under the platform manifests' real digests.
func TestMultiPlatformImageGetsABaseNodePerPlatformManifest(t *testing.T) {
	t.Parallel()
	chain := func(platform string) lineage.Lineage {
		return lineage.Lineage{Chain: []lineage.Entry{{Refs: []string{"example.test/debian:12"}, Digest: digestOf("debian " + platform), Role: "os", Current: true}}}
	}
	inv := &inventory.Inventory{
		Mode: policy.Enforce,
		Images: []inventory.Image{{Ref: "example.test/app:1", Digest: digestOf("app index"), Platforms: []inventory.Platform{
			{Platform: "linux/amd64", Digest: digestOf("app amd64"), Lineage: chain("linux/amd64")},
			{Platform: "linux/arm64", Digest: digestOf("app arm64"), Lineage: chain("linux/arm64")},
		}}},
		Bases: []inventory.Base{
			{Refs: []string{"example.test/debian:12"}, Digest: digestOf("debian linux/amd64"), Role: "os", Current: true},
			{Refs: []string{"example.test/debian:12"}, Digest: digestOf("debian linux/arm64"), Role: "os", Current: true},
		},
	}
	g := FromInventory(inv, Options{})
	img := imageID(digestOf("app index").String())
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		base := baseID(digestOf("debian " + p).String())
		i := slices.IndexFunc(g.Nodes, func(n Node) bool { return n.ID == base })
		if i < 0 || !slices.Equal(g.Nodes[i].Platforms, []string{p}) {
			t.Errorf("no base node %s for %s alone in %+v", base, p, g.Nodes)
		}
		if !hasEdge(g, img, base, EdgeBuiltOn) {
			t.Errorf("no built-on edge from the image to its %s base", p)
		}
	}
}

// Names come from the cluster, manifests and registries, and a base's
// claimed name is whatever an image's annotation says: none may end a DOT
// string or a Mermaid label, or add a node, an edge or markup.
func TestHostileNamesCannotBreakOutOfDOTOrMermaid(t *testing.T) {
	t.Parallel()
	hostile := []string{
		`evil"]; "pwned" -> "x`,
		"line\nbreak\"];\ninjected [label=\"x",
		`back\\"slash\`,
		"</script><img src=x onerror=alert(1)>",
		"a]) --> b[[\"c\"]]|x|",
		"%%{init: {'theme':'dark'}}%%",
		"#quot; &amp; `tick` \u2028sep\x00nul",
	}
	inv := &inventory.Inventory{Mode: policy.Enforce}
	for i, h := range hostile {
		base, img := digestOf("base"+h), digestOf("image"+h)
		inv.Bases = append(inv.Bases, inventory.Base{Refs: []string{h}, Digest: base, Role: h, Current: i%2 == 0, MovedTag: h, CurrentDigest: digestOf("now" + h)})
		inv.Images = append(inv.Images, inventory.Image{Ref: h, Refs: []string{h}, Digest: img, Platforms: []inventory.Platform{
			{Platform: h, Lineage: lineage.Lineage{Chain: []lineage.Entry{{Refs: []string{h}, ClaimedName: h, Digest: base, Current: i%2 == 0}}}},
		}})
		inv.Workloads = append(inv.Workloads, inventory.Workload{
			Kind: h, Namespace: h, Name: h,
			Violations: []policy.Violation{{Policy: h, Action: policy.Enforce, Container: h}},
			Containers: []inventory.Container{{Name: h, Image: h, Digest: img}},
		})
	}
	g := FromInventory(inv, Options{})

	var dot bytes.Buffer
	if err := WriteDOT(&dot, g); err != nil {
		t.Fatal(err)
	}
	strs, nodes, edges := lexDOT(t, dot.String())
	if nodes != len(g.Nodes)+len(legend()) || edges != len(g.Edges) {
		t.Errorf("DOT has %d node and %d edge statements, want %d and %d:\n%s", nodes, edges, len(g.Nodes)+len(legend()), len(g.Edges), dot.String())
	}
	for _, n := range g.Nodes {
		if !slices.Contains(strs, printableDOT(n.ID)) || !slices.ContainsFunc(strs, func(s string) bool { return strings.HasPrefix(s, printableDOT(n.Label)) }) {
			t.Errorf("DOT does not carry node %q and its label intact", n.ID)
		}
	}

	var mmd bytes.Buffer
	if err := WriteMermaid(&mmd, g); err != nil {
		t.Fatal(err)
	}
	mNodes, mEdges := 0, 0
	for _, line := range strings.Split(strings.TrimSuffix(mmd.String(), "\n"), "\n") {
		switch {
		case mermaidNode.MatchString(line):
			mNodes++
		case mermaidEdge.MatchString(line):
			mEdges++
		case !mermaidOther.MatchString(line):
			t.Errorf("Mermaid line %q is none of the statements written", line)
		}
	}
	if mNodes != len(g.Nodes)+len(legend()) || mEdges != len(g.Edges) {
		t.Errorf("Mermaid has %d nodes and %d edges, want %d and %d:\n%s", mNodes, mEdges, len(g.Nodes)+len(legend()), len(g.Edges), mmd.String())
	}
	for _, h := range hostile {
		if !strings.Contains(mmd.String(), mermaidText(h)) || !strings.Contains(decodeMermaid(mermaidText(h)), h) {
			t.Errorf("Mermaid does not carry %q encoded and decodable", h)
		}
	}

	var text bytes.Buffer
	if err := WriteUsesText(&text, hostile[1], Rebuild(inv)); err != nil {
		t.Fatal(err)
	}
	// One header, the table, a blank line, and one rebuild line per image on
	// a stale base: a name's line break must not add a line.
	stale := (len(hostile)) / 2
	if lines := strings.Count(text.String(), "\n"); lines != 1+stale+1+stale {
		t.Errorf("WriteUsesText() wrote %d lines, want %d:\n%s", lines, 1+stale+1+stale, text.String())
	}
}

var (
	mermaidLabel = `"(?:[A-Za-z0-9 ./:@_\-+,=()]|#[0-9]+;|<br/>)*"`
	mermaidNode  = regexp.MustCompile(`^  (?:n|legend)[0-9]+(?:\[` + mermaidLabel + `\]|\(\[` + mermaidLabel + `\]\)|\[\[` + mermaidLabel + `\]\])$`)
	mermaidEdge  = regexp.MustCompile(`^  n[0-9]+ -->\|(?:built on|runs)\| n[0-9]+$`)
	mermaidOther = regexp.MustCompile(`^(?:flowchart BT|  classDef [a-z]+ [a-z0-9:#,\- ]+|  subgraph legend\["legend"\]|  end|  class (?:n[0-9]+|legend[0-9]+)(?:,(?:n[0-9]+|legend[0-9]+))* [a-z]+)$`)
	mermaidCode  = regexp.MustCompile(`#([0-9]+);`)
	nodeName     = regexp.MustCompile(`^(?:n|legend)[0-9]+$`)
)

func decodeMermaid(s string) string {
	return mermaidCode.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(m[1 : len(m)-1])
		return string(rune(n))
	})
}

// printableDOT is what a label reads as after dotString: control
// characters but the line break are spaces.
func printableDOT(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && (r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029') {
			return ' '
		}
		return r
	}, s)
}

// lexDOT reads the subset of DOT WriteDOT writes: it fails on anything
// else outside a string, and returns the decoded strings and how many node
// statements ("ID" [ ... ];) and edge statements ("ID" -> "ID") it holds.
func lexDOT(t *testing.T, src string) (strs []string, nodes, edges int) {
	t.Helper()
	var toks []string
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\n':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "->"):
			toks, i = append(toks, "->"), i+2
		case strings.ContainsRune("{}[];=,", rune(c)):
			toks, i = append(toks, string(c)), i+1
		case c == '"':
			var b strings.Builder
			i++
			for ; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' && i+1 < len(src) {
					i++
					switch src[i] {
					case 'n':
						b.WriteByte('\n')
					default:
						b.WriteByte(src[i])
					}
					continue
				}
				if src[i] == '\n' {
					t.Fatalf("DOT string holds a raw line break near %q", src[max(0, i-40):i])
				}
				b.WriteByte(src[i])
			}
			if i == len(src) {
				t.Fatalf("DOT string not closed")
			}
			i++
			strs = append(strs, b.String())
			toks = append(toks, `"`+b.String())
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_':
			j := i
			for j < len(src) && (src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= '0' && src[j] <= '9' || src[j] == '_') {
				j++
			}
			toks, i = append(toks, src[i:j]), j
		default:
			t.Fatalf("DOT has %q outside a string near %q", c, src[max(0, i-40):min(len(src), i+40)])
		}
	}
	for i := 0; i+1 < len(toks); i++ {
		if !nodeName.MatchString(toks[i]) || (i > 0 && toks[i-1] == "->") {
			continue
		}
		switch toks[i+1] {
		case "[":
			nodes++
		case "->":
			edges++
		}
	}
	return strs, nodes, edges
}
