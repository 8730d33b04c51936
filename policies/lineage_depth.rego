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

# A bound that is not a number (null, the chart's way to leave a key
# unset; a quoted "3") leaves the default: a number compares greater than
# null in Rego (every image would be too deep) and less than a string (none
# would ever be).
default max_depth := 3

max_depth := n if {
	n := data.strata.config.maxDepth
	is_number(n)
}

default max_layers := 40

max_layers := n if {
	n := data.strata.config.maxLayers
	is_number(n)
}

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
