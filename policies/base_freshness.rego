# METADATA
# title: Images are built on current bases
# description: >-
#   Each base in the image's lineage should still be what its tag points to.
#   A base whose tag has moved (current is false) has been rebuilt, usually
#   to patch it: rebuild the image on the current base.
# custom:
#   id: base-freshness
#   action: warn
package strata.policies.base_freshness

violation contains v if {
	not input.image.error
	some entry in input.lineage.chain
	entry.current == false
	v := {"msg": message(entry), "container": input.container.name, "platform": object.get(input.image, "platform", "")}
}

subject := sprintf("container %q", [input.container.name]) if {
	object.get(input.container, "type", "container") == "container"
} else := sprintf("%s container %q", [input.container.type, input.container.name])

message(entry) := sprintf(
	"%s: image %q is built on %s, but %s now points to %s; rebuild on the current base",
	[subject, input.image.ref, built_on(entry), name(entry), entry.currentDigest],
) if {
	entry.currentDigest
} else := sprintf(
	"%s: image %q is built on %s, which has been rebuilt since; rebuild on the current base",
	[subject, input.image.ref, built_on(entry)],
)

built_on(entry) := sprintf("%s at %s", [entry.refs[0], entry.digest]) if {
	entry.refs[0]
	entry.digest
} else := name(entry)

name(entry) := entry.refs[0] if {
	entry.refs[0]
} else := object.get(entry, "digest", "an unnamed base")
