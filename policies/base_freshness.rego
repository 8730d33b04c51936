# METADATA
# title: Images are built on current bases
# description: >-
#   Each base in the image's lineage should still be what its tag points to.
#   A base whose tag has moved (current is false) has been rebuilt, usually
#   to patch it: rebuild the image on the current base. The tag may be one a
#   base claim names (claimedName): a false claim can only add this warning.
# custom:
#   id: base-freshness
#   action: warn
package strata.policies.base_freshness

import data.strata.lib

violation contains v if {
	not input.image.error
	some entry in input.lineage.chain
	entry.current == false
	v := lib.finding(message(entry))
}

message(entry) := sprintf(
	"%s: image %q is built on %s, but %s now points to %s; rebuild on the current base",
	[lib.subject, input.image.ref, built_on(entry), moved_tag(entry), entry.currentDigest],
) if {
	entry.currentDigest
} else := sprintf(
	"%s: image %q is built on %s, which has been rebuilt since; rebuild on the current base",
	[lib.subject, input.image.ref, built_on(entry)],
)

built_on(entry) := sprintf("%s at %s", [entry.refs[0], entry.digest]) if {
	entry.refs[0]
	entry.digest
} else := sprintf("%s (claimed to be %s)", [entry.digest, entry.claimedName]) if {
	entry.claimedName
	entry.digest
} else := name(entry)

# moved_tag is the tag that moved away: strata says which one, since a base
# named by several tags may have only one of them moved.
moved_tag(entry) := entry.movedTag if {
	entry.movedTag
} else := name(entry)

name(entry) := entry.refs[0] if {
	entry.refs[0]
} else := entry.claimedName if {
	entry.claimedName
} else := object.get(entry, "digest", "an unnamed base")
