package strata.policies.approved_base_test

import data.strata.policies.approved_base

# base is an input the Go pipeline built (TestPolicyInputsGolden), with the
# values these tests name: every key Go emits is there, as Go types it.
base := object.union(data.testdata.inputs.compliant, {
	"apiVersion": "strata.dev/v1",
	"request": {"operation": "CREATE", "dryRun": false, "namespace": "shop", "user": "alice@example.com"},
	"workload": {"kind": "Deployment", "name": "web", "namespace": "shop", "labels": {}, "annotations": {}},
	"container": {"name": "web", "type": "container", "image": "registry.example.com/shop/web:1.2", "os": "", "securityContext": {}},
	"image": {
		"ref": "registry.example.com/shop/web:1.2",
		"digest": "sha256:a1",
		"platformRef": "registry.example.com/shop/web@sha256:a2",
		"platformDigest": "sha256:a2",
		"platform": "linux/amd64",
		"layers": 6,
		"config": {"user": {"raw": "65532", "uid": 65532, "gid": null}},
	},
	"lineage": {"chain": [debian, temurin], "depth": 3, "complete": true},
})

debian := {"refs": ["docker.io/library/debian:12", "docker.io/library/debian:bookworm"], "digest": "sha256:d1", "role": "os", "layers": 1, "evidence": ["layers"], "current": true}

temurin := {"refs": ["registry.example.com/base/temurin:21"], "digest": "sha256:t1", "role": "runtime", "layers": 4, "evidence": ["layers"], "current": true}

with_chain(chain) := object.union(base, {"lineage": {"chain": chain, "depth": count(chain) + 1, "complete": false}})

unknown := with_chain([])

msgs(inp, bases) := {v.msg | some v in approved_base.violation with input as inp with data.strata.config as {"approvedBases": bases}}

test_approved_runtime_is_allowed if {
	count(msgs(base, ["registry.example.com/base/*"])) == 0
}

test_approved_base_in_the_middle_of_the_chain_is_allowed if {
	app := {"refs": ["registry.example.com/shop/app-base:3"], "digest": "sha256:b1", "role": "app", "layers": 2, "current": true}
	count(msgs(with_chain([debian, temurin, app]), ["registry.example.com/base/temurin:*"])) == 0
}

test_any_ref_of_an_entry_matches if {
	count(msgs(base, ["docker.io/library/debian:bookworm"])) == 0
}

test_digest_pattern_matches_entry_digest if {
	count(msgs(base, ["sha256:d1"])) == 0
}

test_digest_pattern_does_not_match_refs if {
	count(msgs(base, ["sha256:nothing"])) == 1
}

test_glob_does_not_match_digests if {
	count(msgs(base, ["sha256*"])) == 1
}

test_star_does_not_cross_slash if {
	count(msgs(base, ["registry.example.com/*"])) == 1
}

test_docker_hub_short_names_do_not_match if {
	count(msgs(base, ["debian:*", "library/debian:*"])) == 1
}

test_repository_glob_matches_a_digest_reference if {
	pinned := object.union(temurin, {"refs": ["registry.example.com/base/temurin@sha256:t1"]})
	count(msgs(with_chain([pinned]), ["registry.example.com/base/*"])) == 0
}

test_image_itself_approved_by_ref if {
	count(msgs(unknown, ["registry.example.com/shop/web:*"])) == 0
}

test_image_itself_approved_by_platform_digest if {
	count(msgs(unknown, ["sha256:a2"])) == 0
}

test_image_itself_approved_by_index_digest if {
	count(msgs(unknown, ["sha256:a1"])) == 0
}

test_catalog_image_itself_approved_by_self if {
	inp := object.union(unknown, {"lineage": {"self": {"refs": ["registry.example.com/base/temurin:21"], "digest": "sha256:t1", "role": "runtime"}}})
	count(msgs(inp, ["registry.example.com/base/*"])) == 0
}

test_unapproved_chain_is_a_violation if {
	msgs(base, ["registry.example.com/golden/*", "sha256:ff"]) == {`container "web": lineage docker.io/library/debian:12 → registry.example.com/base/temurin:21 → registry.example.com/shop/web:1.2 contains no approved base; build on an approved base (registry.example.com/golden/*, sha256:ff)`}
}

test_unknown_lineage_says_how_to_fix_it if {
	msgs(unknown, ["registry.example.com/base/*"]) == {`container "web": the base of image "registry.example.com/shop/web:1.2" is unknown; add its base to catalog.images, or build on an approved base (registry.example.com/base/*)`}
}

test_entry_without_refs_is_named_by_digest if {
	anonymous := {"refs": [], "digest": "sha256:x1", "role": "", "layers": 3, "current": true}
	msgs(with_chain([anonymous]), ["registry.example.com/base/*"]) == {`container "web": lineage sha256:x1 → registry.example.com/shop/web:1.2 contains no approved base; build on an approved base (registry.example.com/base/*)`}
}

test_violation_names_container_and_platform if {
	approved_base.violation == {{
		"msg": `init container "web": the base of image "registry.example.com/shop/web:1.2" is unknown; add its base to catalog.images, or build on an approved base (registry.example.com/base/*)`,
		"container": "web",
		"platform": "linux/amd64",
	}} with input as object.union(unknown, {"container": {"type": "init"}})
		with data.strata.config as {"approvedBases": ["registry.example.com/base/*"]}
}

test_not_configured_yields_nothing if {
	count(msgs(unknown, [])) == 0
	count(approved_base.violation) == 0 with input as unknown
	count(approved_base.violation) == 0 with input as unknown with data.strata.config as {}
}

test_resolution_error_is_silent if {
	inp := object.union(object.remove(base, ["image", "lineage"]), {
		"image": {"ref": "registry.example.com/shop/web:1.2", "error": {"kind": "timeout", "message": "too slow"}},
		"lineage": {},
	})
	count(msgs(inp, ["registry.example.com/base/*"])) == 0
}

# An image built on an unapproved base can claim an approved name for it: the
# claimed name is never matched, only the digest is.
test_claimed_name_is_never_approved if {
	claimed := {"refs": [], "claimedName": "registry.example.com/base/temurin:21", "digest": "sha256:x1", "role": "", "layers": 4, "evidence": ["annotation"], "current": true}
	msgs(with_chain([claimed]), ["registry.example.com/base/*"]) == {`container "web": lineage sha256:x1 (claimed to be registry.example.com/base/temurin:21) → registry.example.com/shop/web:1.2 contains no approved base; build on an approved base (registry.example.com/base/*)`}
}

test_claimed_base_is_approved_by_its_digest if {
	claimed := {"refs": [], "claimedName": "registry.example.com/base/temurin:21", "digest": "sha256:x1", "role": "", "layers": 4, "evidence": ["annotation"], "current": true}
	count(msgs(with_chain([claimed]), ["sha256:x1"])) == 0
}

# Decisions on inputs the Go pipeline built from the demo registry's images
# (policies/testdata/inputs.json, written by TestPolicyInputsGolden).
inputs := data.testdata.inputs

demo_bases := ["strata-demo.local/base/debian:*"]

test_pipeline_image_on_an_approved_base_is_allowed if {
	count(msgs(inputs.compliant, demo_bases)) == 0
	count(msgs(inputs.too_deep, demo_bases)) == 0
}

# billing is built on the build of debian:12 before its patch: the catalog
# names that digest by the dated tag it saw point to it, which matches.
test_pipeline_image_on_an_old_build_of_an_approved_base_is_allowed if {
	count(msgs(inputs.stale_base, demo_bases)) == 0
}

test_pipeline_unknown_base_is_a_violation if {
	approved_base.violation == {{
		"msg": `container "app": the base of image "strata-demo.local/shop/legacy:1.0" is unknown; add its base to catalog.images, or build on an approved base (strata-demo.local/base/debian:*)`,
		"container": "app",
		"platform": "linux/amd64",
	}} with input as inputs.unknown_base
		with data.strata.config as {"approvedBases": demo_bases}
}

test_pipeline_unapproved_chain_is_a_violation if {
	msgs(inputs.compliant, ["strata-demo.local/golden/*"]) == {`container "app": lineage strata-demo.local/base/debian:12 → strata-demo.local/base/temurin:21 → strata-demo.local/shop/web:1.0 contains no approved base; build on an approved base (strata-demo.local/golden/*)`}
}

test_pipeline_unresolved_images_are_silent if {
	count(msgs(inputs.not_found, demo_bases)) == 0
	count(msgs(inputs.pod_os_mismatch, demo_bases)) == 0
}
