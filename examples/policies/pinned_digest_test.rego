package strata.policies.pinned_digest_test

import data.strata.policies.pinned_digest

base := {
	"apiVersion": "strata.dev/v1",
	"request": {"operation": "CREATE", "dryRun": false, "namespace": "shop", "user": "alice@example.com"},
	"workload": {"kind": "Deployment", "name": "web", "namespace": "shop", "labels": {}, "annotations": {}},
	"container": {"name": "web", "type": "container", "image": "registry.example.com/shop/web:1.2", "os": "", "securityContext": {}},
	"image": {
		"ref": "registry.example.com/shop/web:1.2",
		"digest": "sha256:6ed6",
		"platformRef": "registry.example.com/shop/web@sha256:a1",
		"platformDigest": "sha256:a1",
		"platform": "linux/amd64",
		"layers": 7,
		"config": {"user": {"raw": "65532", "uid": 65532, "gid": null}},
	},
	"lineage": {"chain": [], "depth": 1, "complete": false},
}

config := {"pinnedRegistries": ["registry.example.com", "docker.io"]}

msgs(inp) := {v.msg | some v in pinned_digest.violation with input as inp with data.strata.config as config}

written(image, ref) := object.union(base, {"container": {"image": image}, "image": {"ref": ref}})

test_tag_from_pinned_registry_is_a_violation if {
	msgs(base) == {`container "web": images from registry.example.com must be pinned by digest; write the image as registry.example.com/shop/web:1.2@sha256:6ed6`}
}

test_digest_from_pinned_registry_is_allowed if {
	count(msgs(written("registry.example.com/shop/web@sha256:6ed6", "registry.example.com/shop/web@sha256:6ed6"))) == 0
}

test_tag_and_digest_is_allowed if {
	count(msgs(written("registry.example.com/shop/web:1.2@sha256:6ed6", "registry.example.com/shop/web:1.2@sha256:6ed6"))) == 0
}

test_other_registry_is_allowed if {
	count(msgs(written("ghcr.io/shop/web:1.2", "ghcr.io/shop/web:1.2"))) == 0
}

test_registry_is_read_from_the_canonical_reference if {
	msgs(written("nginx:1.27", "docker.io/library/nginx:1.27")) == {`container "web": images from docker.io must be pinned by digest; write the image as nginx:1.27@sha256:6ed6`}
}

test_registry_with_port_is_matched_whole if {
	inp := written("localhost:5000/web:1", "localhost:5000/web:1")
	count(msgs(inp)) == 0
	count(pinned_digest.violation) == 1 with input as inp with data.strata.config as {"pinnedRegistries": ["localhost:5000"]}
}

test_not_configured_yields_nothing if {
	count(pinned_digest.violation) == 0 with input as base
}

test_resolution_error_is_silent if {
	inp := object.union(object.remove(base, ["image", "lineage"]), {
		"image": {"ref": "registry.example.com/shop/web:1.2", "error": {"kind": "timeout", "message": "too slow"}},
		"lineage": {},
	})
	count(msgs(inp)) == 0
}

test_unknown_digest_is_still_a_violation if {
	count(msgs(object.union(object.remove(base, ["image"]), {"image": object.remove(base.image, ["digest"])}))) == 1
}
