# METADATA
# title: Images are small
# description: >-
#   The compressed size of the image's layers, as its platform manifest
#   declares them, must not exceed data.strata.config.maxImageSize (bytes,
#   default 500 MiB). The size the image adds on top of its base (its layers
#   after the direct base's) must not exceed data.strata.config.maxAppSize
#   (bytes; unset by default, and only checked when the base is known).
#   Messages give both sizes and the base's share.
# custom:
#   id: image-size
#   action: warn
package strata.policies.image_size

import data.strata.lib

# A value that is not a number (null, the chart's way to leave a key unset)
# leaves the default: a number compares greater than null in Rego, and the
# check would fire on every image.
default max_image_size := 524288000

max_image_size := n if {
	n := data.strata.config.maxImageSize
	is_number(n)
}

violation contains v if {
	not input.image.error
	some msg in messages
	v := lib.finding(msg)
}

messages contains msg if {
	input.image.size > max_image_size
	msg := sprintf(
		"%s: image %q is %s compressed > maxImageSize %s (%s): build on a smaller base, and copy only what runs from a build stage",
		[lib.subject, input.image.ref, lib.size(input.image.size), lib.size(max_image_size), share],
	)
}

messages contains msg if {
	max_app_size := data.strata.config.maxAppSize
	is_number(max_app_size)
	known_base
	app_size > max_app_size
	msg := sprintf(
		"%s: image %q adds %s on top of its base > maxAppSize %s (%s): copy only what runs from a build stage, and keep build caches and dependencies for development out",
		[lib.subject, input.image.ref, lib.size(app_size), lib.size(max_app_size), share],
	)
}

known_base if count(input.lineage.chain) > 0

base := input.lineage.chain[count(input.lineage.chain) - 1]

app_size := input.image.size - input.image.baseSize

share := sprintf(
	"base %s: %s, application: %s",
	[lib.entry_name(base), lib.size(input.image.baseSize), lib.size(app_size)],
) if {
	known_base
} else := "base unknown"
