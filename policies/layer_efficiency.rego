# METADATA
# title: Applications add few, useful layers
# description: >-
#   The literal layers an image adds on top of its direct base must not exceed
#   data.strata.config.maxAppLayers (default 10; only checked when the base is
#   known: lineage-depth's maxLayers bounds the total). A layer the
#   application adds is wasted when a RUN step made it of at most
#   data.strata.config.wastedLayerBytes (default 1024) after a layer of at
#   least data.strata.config.largeLayerBytes (default 10 MiB): a step that
#   only deletes files, or changes nothing, frees no space, because the
#   earlier layer still ships what it deleted. COPY, ADD and other steps that
#   are small on purpose are not wasted, nor is a layer no history step can be
#   matched to. The first ten wasted layers of an image are described.
# custom:
#   id: layer-efficiency
#   action: warn
package strata.policies.layer_efficiency

import data.strata.lib

default max_app_layers := 10

max_app_layers := n if {
	n := data.strata.config.maxAppLayers
	is_number(n)
}

default wasted_layer_bytes := 1024

wasted_layer_bytes := n if {
	n := data.strata.config.wastedLayerBytes
	is_number(n)
}

default large_layer_bytes := 10485760

large_layer_bytes := n if {
	n := data.strata.config.largeLayerBytes
	is_number(n)
}

violation contains v if {
	not input.image.error
	some msg in messages
	v := lib.finding(msg)
}

messages contains msg if {
	count(input.lineage.chain) > 0
	app_layers := input.image.layers - lib.base_layers
	app_layers > max_app_layers
	msg := sprintf(
		"%s: image %q adds %d layers on top of %s > maxAppLayers %d: join RUN steps, and copy the build's result from a build stage in one COPY",
		[lib.subject, input.image.ref, app_layers, lib.entry_name(input.lineage.chain[count(input.lineage.chain) - 1]), max_app_layers],
	)
}

messages contains msg if {
	some [i, created_by] in array.slice(wasted, 0, max_wasted_described)
	largest := max(array.slice(input.image.layerSizes, 0, i))
	msg := sprintf(
		"%s: image %q: layer %d (%s) is %s after a layer of %s: a step that only deletes files frees nothing, the earlier layer still ships them; clean up in the step that creates the files",
		[lib.subject, input.image.ref, i + 1, lib.shorten(created_by), lib.size(input.image.layerSizes[i]), lib.size(largest)],
	)
}

# The application's RUN layers of at most wastedLayerBytes after a layer of
# at least largeLayerBytes, as [layer, step] in layer order. Found in one
# pass over the steps, and at most max_wasted_described of them described
# with the largest layer before each: comparing every step with every layer
# before it let an image of thousands of tiny layers hold the engine past
# its bound.
wasted := sort([[i, step.createdBy] |
	some step in input.image.history
	i := step.layer
	i >= lib.base_layers
	i > first_large
	input.image.layerSizes[i] <= wasted_layer_bytes
	run_step(step.createdBy)
])

max_wasted_described := 10

# The first layer of at least largeLayerBytes.
first_large := min([j | some j, s in input.image.layerSizes; s >= large_layer_bytes])

# run_step recognises a RUN step as builders record it: BuildKit's
# "RUN /bin/sh -c …", the classic builder's "/bin/sh -c …" (after "|N k=v"
# when build arguments were set) that is not a "#(nop)" instruction, and
# Windows' "cmd /S /C …" and "powershell …".
run_step(cmd) if startswith(cmd, "RUN ")

run_step(cmd) if {
	regex.match(`^(\|\d+ .*)?(/bin/(ba)?sh -c|cmd /S /C|powershell) `, cmd)
	not contains(cmd, "#(nop)")
}
