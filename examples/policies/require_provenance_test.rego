package strata.policies.require_provenance_test

import data.strata.policies.require_provenance

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
	"lineage": {"chain": [], "depth": 1, "complete": false, "claims": []},
}

config := {"provenanceRegistries": ["registry.example.com"]}

msgs(inp) := {v.msg | some v in require_provenance.violation with input as inp with data.strata.config as config}

entry(sources) := {"refs": [], "digest": "sha256:b1", "role": "", "layers": 3, "evidence": [], "sources": sources, "verified": "layers", "current": true}

with_lineage(chain, claims) := object.union(base, {"lineage": {"chain": chain, "depth": count(chain) + 1, "complete": false, "claims": claims}})

test_no_provenance_is_a_violation if {
	msgs(base) == {`container "web": images from registry.example.com must have a base verified from their build provenance; the image carries no build provenance, or it names no image; build with docker buildx (provenance is on by default) from a base in a registry strata may read`}
}

test_provenance_verified_base_is_allowed if {
	count(msgs(with_lineage([entry(["provenance"])], [{"by": "sha256:a1", "name": "registry.example.com/base/jdk:21", "digest": "sha256:b1", "source": "provenance", "status": "verified"}]))) == 0
}

test_catalog_base_also_named_by_provenance_is_allowed if {
	count(msgs(with_lineage([entry(["catalog", "provenance"])], []))) == 0
}

test_catalog_or_annotation_base_alone_is_a_violation if {
	count(msgs(with_lineage([entry(["catalog"]), entry(["annotation"])], []))) == 1
}

test_forged_provenance_is_a_violation_that_names_the_mismatch if {
	claim := {"by": "sha256:a1", "name": "registry.example.com/base/debian:12", "digest": "sha256:d1", "source": "provenance", "status": "mismatch", "reason": "used in the build, not a base"}
	some m in msgs(with_lineage([], [claim]))
	contains(m, "none of the images its provenance names is its base (registry.example.com/base/debian:12: mismatch)")
}

test_other_registry_is_not_checked if {
	other := object.union(base, {"container": {"image": "docker.io/library/nginx:1"}, "image": {"ref": "docker.io/library/nginx:1"}})
	count(msgs(other)) == 0
}

test_unresolved_image_is_left_to_image_resolution if {
	count(msgs(object.union(base, {"image": {"ref": "registry.example.com/shop/web:1.2", "error": {"kind": "unauthorized"}}}))) == 0
}

test_not_configured_yields_nothing if {
	count({v | some v in require_provenance.violation with input as base}) == 0
}
