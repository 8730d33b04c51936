// Package graph draws who depends on which base: bases, the images built on
// them and the workloads that run those images, from an inventory. It
// writes the graph as DOT, Mermaid, JSON and a self-contained HTML page,
// and answers the day a base is patched with the rebuild list.
package graph

// Kind is the kind of a node.
type Kind string

// The three kinds of nodes, drawn in this order from the top.
const (
	KindBase     Kind = "base"
	KindImage    Kind = "image"
	KindWorkload Kind = "workload"
)

// The two kinds of edges.
const (
	// EdgeBuiltOn goes from an image (or a base) to the base it is built
	// on: its direct parent in the lineage chain.
	EdgeBuiltOn = "built-on"
	// EdgeRuns goes from a workload to an image one of its containers runs.
	EdgeRuns = "runs"
)

// Graph is the JSON form (`strata graph -o json`, docs/graph.md has its
// schema), and what the HTML page draws.
type Graph struct {
	// SchemaVersion changes when a field changes meaning.
	SchemaVersion int    `json:"schemaVersion"`
	Nodes         []Node `json:"nodes"`
	Edges         []Edge `json:"edges"`
	// Rebuild lists, for every base that is not the current digest of its
	// tag, what is built on it: the applications to rebuild.
	Rebuild []Use `json:"rebuild"`
}

// Node is a base, an image or a workload. IDs are "base:<digest>",
// "image:<digest>" and "workload:<namespace>/<kind>/<name>": one node per
// digest, so two tags of one digest are one node with two Refs, and a tag
// that moved is two nodes.
type Node struct {
	ID    string `json:"id"`
	Kind  Kind   `json:"kind"`
	Label string `json:"label"`
	// Refs are the node's names: a base's catalog tags, an image's
	// references as the pods write them; empty for a workload.
	Refs   []string `json:"refs,omitempty"`
	Digest string   `json:"digest,omitempty"`
	// Role is a base's catalog role (os, runtime, framework, ...), "app" for
	// an image that is not a catalog base, empty for a workload.
	Role string `json:"role,omitempty"`
	// Level places the node in the layered layout: 0 for the roots, then
	// one more than the deepest base it is built on; workloads one below
	// their deepest image. An image is at least at 1 and a workload at 2,
	// so that one on an unknown base is not drawn among the roots.
	Level     int    `json:"level"`
	Namespace string `json:"namespace,omitempty"`
	// Stale marks a base whose tag now points elsewhere (CurrentDigest),
	// and an image built on such a base.
	Stale         bool   `json:"stale,omitempty"`
	CurrentDigest string `json:"currentDigest,omitempty"`
	// Violations counts the violations found on an image (over the
	// workloads that run it) or a workload; Denied is set when they deny
	// in the inventory's mode.
	Violations int  `json:"violations,omitempty"`
	Denied     bool `json:"denied,omitempty"`
	// Policies are the ids of the policies violated, sorted.
	Policies []string `json:"policies,omitempty"`
	// Platforms are an image's evaluated platforms, and for a base the
	// platforms of the images whose chains reach it: a base node is one
	// platform manifest, so a multi-platform base is a node per platform.
	Platforms []string `json:"platforms,omitempty"`
}

// Edge is "built on" (from an image or base to its parent base) or "runs"
// (from a workload to an image).
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
}

// Use is one line of a rebuild list: an image built on a base, at which
// digest of the base, and who runs it.
type Use struct {
	// Base is the base's name (the tag asked about, or its catalog name),
	// BaseDigest the digest the image is built on, and Current whether the
	// tag still points to it.
	Base          string `json:"base"`
	BaseDigest    string `json:"baseDigest"`
	Current       bool   `json:"current"`
	CurrentDigest string `json:"currentDigest,omitempty"`
	Image         string `json:"image"`
	ImageDigest   string `json:"imageDigest"`
	// Workloads are "<namespace>/<kind>/<name>", sorted.
	Workloads []string `json:"workloads"`
}
