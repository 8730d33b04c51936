package strata.policies.base_freshness_test

import data.strata.policies.base_freshness

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
		"platformRef": "registry.example.com/shop/web@sha256:a1",
		"platformDigest": "sha256:a1",
		"platform": "linux/arm64",
		"layers": 7,
		"config": {"user": {"raw": "65532", "uid": 65532, "gid": null}},
	},
	"lineage": {"chain": [debian, temurin], "depth": 3, "complete": true},
})

debian := {"refs": ["registry.example.com/base/debian:12"], "digest": "sha256:d1", "role": "os", "layers": 1, "current": true}

temurin := {"refs": ["registry.example.com/base/temurin:21"], "digest": "sha256:t1", "role": "runtime", "layers": 4, "current": true}

stale(entry, current) := object.union(entry, {"current": false, "currentDigest": current})

with_chain(chain) := object.union(base, {"lineage": {"chain": chain}})

test_current_bases_are_allowed if {
	count(base_freshness.violation) == 0 with input as base
}

test_unknown_freshness_is_allowed if {
	count(base_freshness.violation) == 0 with input as with_chain([object.remove(debian, ["current"])])
}

test_stale_base_is_a_violation if {
	base_freshness.violation == {{
		"msg": `container "web": image "registry.example.com/shop/web:1.2" is built on registry.example.com/base/temurin:21 at sha256:t1, but registry.example.com/base/temurin:21 now points to sha256:t2; rebuild on the current base`,
		"container": "web",
		"platform": "linux/arm64",
	}} with input as with_chain([debian, stale(temurin, "sha256:t2")])
}

test_each_stale_base_is_a_violation if {
	count(base_freshness.violation) == 2 with input as with_chain([stale(debian, "sha256:d2"), stale(temurin, "sha256:t2")])
}

test_stale_base_without_current_digest if {
	moved := object.union(temurin, {"current": false})
	{v.msg | some v in base_freshness.violation} == {`sidecar container "web": image "registry.example.com/shop/web:1.2" is built on registry.example.com/base/temurin:21 at sha256:t1, which has been rebuilt since; rebuild on the current base`} with input as object.union(with_chain([moved]), {"container": {"type": "sidecar"}})
}

test_resolution_error_is_silent if {
	inp := object.union(object.remove(base, ["image", "lineage"]), {
		"image": {"ref": "registry.example.com/shop/web:1.2", "error": {"kind": "timeout", "message": "too slow"}},
		"lineage": {"chain": [stale(temurin, "sha256:t2")]},
	})
	count(base_freshness.violation) == 0 with input as inp
}

test_stale_base_without_refs_is_named_by_digest if {
	anonymous := {"refs": [], "digest": "sha256:x1", "current": false, "currentDigest": "sha256:x2"}
	{v.msg | some v in base_freshness.violation} == {`container "web": image "registry.example.com/shop/web:1.2" is built on sha256:x1, but sha256:x1 now points to sha256:x2; rebuild on the current base`} with input as with_chain([anonymous])
}

# A claimed tag that has moved still warns, naming the claim as a claim.
test_stale_claimed_base_names_the_claim if {
	claimed := {"refs": [], "claimedName": "registry.example.com/base/temurin:21", "digest": "sha256:x1", "role": "", "layers": 4, "current": false, "movedTag": "registry.example.com/base/temurin:21", "currentDigest": "sha256:t2"}
	base_freshness.violation == {{
		"msg": `container "web": image "registry.example.com/shop/web:1.2" is built on sha256:x1 (claimed to be registry.example.com/base/temurin:21), but registry.example.com/base/temurin:21 now points to sha256:t2; rebuild on the current base`,
		"container": "web",
		"platform": "linux/arm64",
	}} with input as with_chain([debian, claimed])
}

# A base known by a dated tag that never moved, and by a tag that did: the
# message names the tag that moved.
test_stale_message_names_the_tag_that_moved if {
	dated := {"refs": ["registry.example.com/base/temurin:21.0.4"], "claimedName": "registry.example.com/base/temurin:21", "digest": "sha256:t1", "role": "runtime", "layers": 4, "current": false, "movedTag": "registry.example.com/base/temurin:21", "currentDigest": "sha256:t2"}
	base_freshness.violation == {{
		"msg": `container "web": image "registry.example.com/shop/web:1.2" is built on registry.example.com/base/temurin:21.0.4 at sha256:t1, but registry.example.com/base/temurin:21 now points to sha256:t2; rebuild on the current base`,
		"container": "web",
		"platform": "linux/arm64",
	}} with input as with_chain([debian, dated])
}

# Decisions on inputs the Go pipeline built from the demo registry's images
# (policies/testdata/inputs.json, written by TestPolicyInputsGolden).
inputs := data.testdata.inputs

test_pipeline_image_on_current_bases_is_allowed if {
	count(base_freshness.violation) == 0 with input as inputs.compliant
}

# billing was built before debian:12 was patched: both its bases moved.
test_pipeline_each_moved_base_is_a_violation if {
	chain := inputs.stale_base.lineage.chain
	{v.msg | some v in base_freshness.violation} == {
		sprintf(`container "app": image "strata-demo.local/shop/billing:1.0" is built on strata-demo.local/base/debian:12.7 at %s, but strata-demo.local/base/debian:12 now points to %s; rebuild on the current base`, [chain[0].digest, chain[0].currentDigest]),
		sprintf(`container "app": image "strata-demo.local/shop/billing:1.0" is built on strata-demo.local/base/temurin:21.0.4 at %s, but strata-demo.local/base/temurin:21 now points to %s; rebuild on the current base`, [chain[1].digest, chain[1].currentDigest]),
	} with input as inputs.stale_base
}

test_pipeline_unresolved_images_are_silent if {
	count(base_freshness.violation) == 0 with input as inputs.not_found
	count(base_freshness.violation) == 0 with input as inputs.pod_os_mismatch
}
