# METADATA
# title: Images from chosen registries have a provenance-verified base
# description: >-
#   An example of a user policy. Images from a registry listed in
#   data.strata.config.provenanceRegistries (hosts, e.g.
#   registry.example.com) must have a base found through their build
#   provenance (the SLSA attestation docker buildx attaches by default) and
#   verified by its layers: a lineage entry whose sources include
#   "provenance". An image built without provenance, or whose provenance
#   names no image its layers start with, is a violation. The host is read
#   from the canonical reference, so "nginx" is docker.io.
# custom:
#   id: require-provenance
#   action: enforce
package strata.policies.require_provenance

default provenance_registries := []

provenance_registries := data.strata.config.provenanceRegistries

violation contains v if {
	# Like the built-ins, stay silent when the image could not be resolved:
	# the image-resolution policy reports that.
	not input.image.error
	registry in provenance_registries
	not provenance_verified
	msg := sprintf(
		"container %q: images from %s must have a base verified from their build provenance; %s; build with docker buildx (provenance is on by default) from a base in a registry strata may read",
		[input.container.name, registry, reason],
	)
	v := {"msg": msg, "container": input.container.name, "platform": object.get(input.image, "platform", "")}
}

registry := split(input.image.ref, "/")[0]

# Every lineage entry is verified by its layers ("verified": "layers"); only
# its sources differ.
provenance_verified if {
	some entry in input.lineage.chain
	"provenance" in object.get(entry, "sources", [])
}

provenance_claims := [c | some c in object.get(input.lineage, "claims", []); c.source == "provenance"]

reason := "the image carries no build provenance, or it names no image" if {
	count(provenance_claims) == 0
} else := sprintf("none of the images its provenance names is its base (%s)", [concat(", ", [sprintf("%s: %s", [c.name, c.status]) | some c in provenance_claims])])
