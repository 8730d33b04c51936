# METADATA
# title: Images from pinned registries are pinned by digest
# description: >-
#   An example of a user policy. Images from a registry listed in
#   data.strata.config.pinnedRegistries (hosts, e.g. registry.example.com)
#   must be written with @sha256:, so that what runs is what was reviewed.
#   The host is read from the canonical reference, so "nginx" is docker.io.
# custom:
#   id: pinned-digest
#   action: enforce
package strata.policies.pinned_digest

default pinned_registries := []

pinned_registries := data.strata.config.pinnedRegistries

violation contains v if {
	# Like the built-ins, stay silent when the image could not be resolved:
	# the image-resolution policy reports that.
	not input.image.error
	registry in pinned_registries
	not contains(input.container.image, "@sha256:")
	msg := sprintf(
		"container %q: images from %s must be pinned by digest; write the image as %s@%s",
		[input.container.name, registry, input.container.image, object.get(input.image, "digest", "sha256:…")],
	)
	v := {"msg": msg, "container": input.container.name, "platform": object.get(input.image, "platform", "")}
}

registry := split(input.image.ref, "/")[0]
