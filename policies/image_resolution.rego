# METADATA
# title: Images can be resolved
# description: >-
#   An image strata could not resolve (bad reference, registry down, access
#   denied, timeout) cannot be checked by any other policy, so it is a
#   violation of its own and never passes silently. An image checked on a
#   stale tag resolution (warn and audit only; enforce makes it an error)
#   is reported too, so that the decision says what it rests on.
# custom:
#   id: image-resolution
#   action: enforce
package strata.policies.image_resolution

import data.strata.lib

violation contains v if {
	input.image.error
	msg := sprintf("%s: cannot check image %q: %s", [lib.subject, input.container.image, reason])
	v := lib.finding(msg)
}

violation contains v if {
	not input.image.error
	input.image.stale
	msg := sprintf("%s: image %q may have moved: %s", [lib.subject, input.container.image, stale_reason])
	v := lib.finding(msg)
}

stale_reason := input.image.staleReason if {
	input.image.staleReason
} else := "the registry failed the re-check of the tag and a stale resolution was used"

reason := input.image.error.message if {
	input.image.error.message
} else := sprintf("resolution failed (%s)", [object.get(input.image.error, "kind", "unknown error")])
