package strata.policies.lineage_depth_test

import data.strata.policies.lineage_depth

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
		"platform": "linux/amd64",
		"layers": 7,
		"config": {"user": {"raw": "65532", "uid": 65532, "gid": null}},
	},
	"lineage": {"chain": [debian, temurin], "depth": 3, "complete": true},
})

debian := {"refs": ["registry.example.com/base/debian:12"], "digest": "sha256:d1", "role": "os", "layers": 1, "current": true}

temurin := {"refs": ["registry.example.com/base/temurin:21"], "digest": "sha256:t1", "role": "runtime", "layers": 4, "current": true}

spring := {"refs": ["registry.example.com/base/spring:3"], "digest": "sha256:s1", "role": "framework", "layers": 5, "current": true}

four_levels := object.union(base, {"lineage": {"chain": [debian, temurin, spring], "depth": 4}})

msgs(inp, config) := {v.msg | some v in lineage_depth.violation with input as inp with data.strata.config as config}

test_three_levels_with_max_depth_3_is_allowed if {
	count(msgs(base, {"maxDepth": 3})) == 0
}

test_four_levels_with_max_depth_3_is_a_violation if {
	msgs(four_levels, {"maxDepth": 3}) == {`container "web": lineage registry.example.com/base/debian:12 → registry.example.com/base/temurin:21 → registry.example.com/base/spring:3 → registry.example.com/shop/web:1.2 is 4 levels > 3: build on a shallower base`}
}

test_four_levels_with_max_depth_4_is_allowed if {
	count(msgs(four_levels, {"maxDepth": 4})) == 0
}

test_max_depth_defaults_to_3 if {
	count(msgs(base, {})) == 0
	count(msgs(four_levels, {})) == 1
	count(lineage_depth.violation) == 1 with input as four_levels
}

test_unknown_lineage_is_one_level if {
	inp := object.union(base, {"lineage": {"chain": [], "depth": 1, "complete": false}})
	count(msgs(inp, {"maxDepth": 1})) == 0
}

test_chain_entry_without_refs_is_named_by_digest if {
	inp := object.union(four_levels, {"lineage": {"chain": [debian, temurin, {"refs": [], "digest": "sha256:s1"}]}})
	msgs(inp, {}) == {`container "web": lineage registry.example.com/base/debian:12 → registry.example.com/base/temurin:21 → sha256:s1 → registry.example.com/shop/web:1.2 is 4 levels > 3: build on a shallower base`}
}

test_forty_layers_is_allowed if {
	count(msgs(object.union(base, {"image": {"layers": 40}}), {})) == 0
}

test_too_many_layers_is_a_violation if {
	msgs(object.union(base, {"image": {"layers": 41}}), {}) == {`container "web": image "registry.example.com/shop/web:1.2" has 41 layers > 40: squash or use multi-stage builds`}
}

test_max_layers_is_configurable if {
	inp := object.union(base, {"image": {"layers": 7}})
	msgs(inp, {"maxLayers": 5}) == {`container "web": image "registry.example.com/shop/web:1.2" has 7 layers > 5: squash or use multi-stage builds`}
}

test_depth_and_layers_are_separate_violations if {
	inp := object.union(four_levels, {"image": {"layers": 50}, "container": {"type": "ephemeral", "name": "debug"}})
	lineage_depth.violation == {
		{"msg": `ephemeral container "debug": lineage registry.example.com/base/debian:12 → registry.example.com/base/temurin:21 → registry.example.com/base/spring:3 → registry.example.com/shop/web:1.2 is 4 levels > 3: build on a shallower base`, "container": "debug", "platform": "linux/amd64"},
		{"msg": `ephemeral container "debug": image "registry.example.com/shop/web:1.2" has 50 layers > 40: squash or use multi-stage builds`, "container": "debug", "platform": "linux/amd64"},
	} with input as inp
}

# A bound that is not a number (null, a quoted "3") is the default: in
# Rego a number is greater than null (every image would be too deep) and
# less than any string (none ever would).
test_a_max_depth_that_is_not_a_number_is_the_default if {
	count(msgs(base, {"maxDepth": null})) == 0
	count(msgs(four_levels, {"maxDepth": "5"})) == 1
}

test_a_max_layers_that_is_not_a_number_is_the_default if {
	count(msgs(base, {"maxLayers": null})) == 0
	msgs(object.union(base, {"image": {"layers": 41}}), {"maxLayers": "50"}) == {`container "web": image "registry.example.com/shop/web:1.2" has 41 layers > 40: squash or use multi-stage builds`}
}

test_resolution_error_is_silent if {
	inp := object.union(object.remove(base, ["image", "lineage"]), {
		"image": {"ref": "registry.example.com/shop/web:1.2", "error": {"kind": "timeout", "message": "too slow"}},
		"lineage": {},
	})
	count(msgs(inp, {"maxDepth": 0, "maxLayers": 0})) == 0
}

# Decisions on inputs the Go pipeline built from the demo registry's images
# (policies/testdata/inputs.json, written by TestPolicyInputsGolden).
inputs := data.testdata.inputs

test_pipeline_three_levels_are_allowed if {
	count(msgs(inputs.compliant, {})) == 0
}

test_pipeline_four_levels_are_a_violation if {
	lineage_depth.violation == {{
		"msg": `container "app": lineage strata-demo.local/base/debian:12 → strata-demo.local/base/temurin:21 → strata-demo.local/base/spring:3 → strata-demo.local/shop/report:1.0 is 4 levels > 3: build on a shallower base`,
		"container": "app",
		"platform": "linux/amd64",
	}} with input as inputs.too_deep
}

test_pipeline_layers_past_max_layers_are_a_violation if {
	msgs(inputs.compliant, {"maxLayers": 5}) == {`container "app": image "strata-demo.local/shop/web:1.0" has 6 layers > 5: squash or use multi-stage builds`}
}

test_pipeline_unresolved_images_are_silent if {
	count(msgs(inputs.not_found, {"maxDepth": 0, "maxLayers": 0})) == 0
}
