# METADATA
# title: Lineage is shallow and layers are few
# description: >-
#   An image is built in a few conceptual levels (OS, runtime, application):
#   its lineage depth, this image included, must not exceed
#   data.strata.config.maxDepth (default 3), and its literal layer count must
#   not exceed data.strata.config.maxLayers (default 40).
# custom:
#   id: lineage-depth
#   action: enforce
package strata.policies.lineage_depth

import data.strata.lib

default max_depth := 3

max_depth := data.strata.config.maxDepth

default max_layers := 40

max_layers := data.strata.config.maxLayers

violation contains v if {
	not input.image.error
	some msg in messages
	v := lib.finding(msg)
}

messages contains msg if {
	input.lineage.depth > max_depth
	msg := sprintf(
		"%s: lineage %s is %v levels > %v: build on a shallower base",
		[lib.subject, lineage_text, input.lineage.depth, max_depth],
	)
}

messages contains msg if {
	input.image.layers > max_layers
	msg := sprintf(
		"%s: image %q has %v layers > %v: squash or use multi-stage builds",
		[lib.subject, input.image.ref, input.image.layers, max_layers],
	)
}

lineage_text := concat(" → ", array.concat([name(entry) | some entry in input.lineage.chain], [input.image.ref]))

name(entry) := entry.refs[0] if {
	entry.refs[0]
} else := object.get(entry, "digest", "an unnamed base")
