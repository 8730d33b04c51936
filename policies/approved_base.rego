# METADATA
# title: Images are built on an approved base
# description: >-
#   The image's lineage must contain an approved base: a catalog image, a base
#   claim or build provenance verified against the image's layers, or the image
#   itself matching one
#   of data.strata.config.approvedBases. A pattern is a glob on canonical
#   references (* does not cross /, e.g. registry.example.com/base/*) or a
#   sha256: digest. An image whose lineage is unknown is a violation. A name a
#   base claim or a provenance gives a digest (claimedName) is never matched:
#   only names the catalog saw point to that digest are. With no approvedBases the policy is
#   not configured and yields nothing; strata reports it inactive (start log,
#   /readyz, strata_policy_inactive).
# custom:
#   id: approved-base
#   action: enforce
#   requires: [approvedBases]
package strata.policies.approved_base

import data.strata.lib

default approved_bases := []

approved_bases := data.strata.config.approvedBases

violation contains v if {
	not input.image.error
	count(approved_bases) > 0
	not approved
	v := lib.finding(message)
}

approved if {
	some pattern in approved_bases
	not startswith(pattern, "sha256:")
	some ref in refs
	glob.match(pattern, ["/"], ref)
}

approved if {
	some pattern in approved_bases
	startswith(pattern, "sha256:")
	pattern in digests
}

# Digest patterns are compared with digests only, and globs with references
# only, so that a loose glob cannot match a bare digest. claimedName is left
# out on purpose: an image can claim any name for its base.
refs contains ref if some ref in input.lineage.chain[_].refs

refs contains ref if some ref in input.lineage.self.refs

refs contains input.image.ref

refs contains input.image.platformRef

digests contains input.lineage.chain[_].digest

digests contains input.lineage.self.digest

digests contains input.image.digest

digests contains input.image.platformDigest

known_lineage if count(object.get(input.lineage, "chain", [])) > 0

known_lineage if input.lineage.self

patterns := concat(", ", approved_bases)

message := sprintf(
	"%s: the base of image %q is unknown; add its base to catalog.images, or build on an approved base (%s)",
	[lib.subject, input.image.ref, patterns],
) if {
	not known_lineage
} else := sprintf(
	"%s: lineage %s contains no approved base; build on an approved base (%s)",
	[lib.subject, lineage_text, patterns],
)

lineage_text := concat(" → ", array.concat([name(entry) | some entry in input.lineage.chain], [input.image.ref]))

name(entry) := entry.refs[0] if {
	entry.refs[0]
} else := sprintf("%s (claimed to be %s)", [object.get(entry, "digest", "an unnamed base"), entry.claimedName]) if {
	entry.claimedName
} else := object.get(entry, "digest", "an unnamed base")
