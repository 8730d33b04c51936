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
#   matched to.
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
	some step in input.image.history
	i := step.layer
	i >= lib.base_layers
	run_step(step.createdBy)
	size := input.image.layerSizes[i]
	size <= wasted_layer_bytes
	largest := max([s | some j, s in input.image.layerSizes; j < i])
	largest >= large_layer_bytes
	msg := sprintf(
		"%s: image %q: layer %d (%s) is %s after a layer of %s: a step that only deletes files frees nothing, the earlier layer still ships them; clean up in the step that creates the files",
		[lib.subject, input.image.ref, i + 1, lib.shorten(step.createdBy), lib.size(size), lib.size(largest)],
	)
}

# run_step recognises a RUN step as builders record it: BuildKit's
# "RUN /bin/sh -c …", the classic builder's "/bin/sh -c …" (after "|N k=v"
# when build arguments were set) that is not a "#(nop)" instruction, and
# Windows' "cmd /S /C …" and "powershell …".
run_step(cmd) if startswith(cmd, "RUN ")

run_step(cmd) if {
	regex.match(`^(\|\d+ .*)?(/bin/(ba)?sh -c|cmd /S /C|powershell) `, cmd)
	not contains(cmd, "#(nop)")
}
