package strata.policies.image_resolution_test

import data.strata.policies.image_resolution

# base is an input the Go pipeline built (TestPolicyInputsGolden), with the
# values these tests name: every key Go emits is there, as Go types it.
base := object.union(data.testdata.inputs.compliant, {
	"apiVersion": "strata.dev/v1",
	"request": {"operation": "CREATE", "dryRun": false, "namespace": "shop", "user": "alice@example.com"},
	"workload": {"kind": "Deployment", "name": "web", "namespace": "shop", "labels": {}, "annotations": {}},
	"container": {"name": "web", "type": "container", "image": "web:1.2", "os": "", "securityContext": {}},
	"image": {
		"ref": "docker.io/library/web:1.2",
		"digest": "sha256:a1",
		"platformRef": "docker.io/library/web@sha256:a1",
		"platformDigest": "sha256:a1",
		"platform": "linux/amd64",
		"layers": 7,
		"config": {"user": {"raw": "", "uid": 0, "gid": null}},
	},
	"lineage": {"chain": [], "depth": 1, "complete": false},
})

failed(error) := object.union(object.remove(base, ["image", "lineage"]), {
	"image": {"ref": "docker.io/library/web:1.2", "error": error},
	"lineage": {},
})

not_found := {"kind": "not-found", "message": `index.docker.io has no image "web:1.2": check the repository, tag or digest`}

test_resolved_image_is_allowed if {
	count(image_resolution.violation) == 0 with input as base
}

test_resolution_error_is_a_violation if {
	image_resolution.violation == {{
		"msg": `container "web": cannot check image "web:1.2": index.docker.io has no image "web:1.2": check the repository, tag or digest`,
		"container": "web",
		"platform": "",
	}} with input as failed(not_found)
}

test_error_without_message_names_its_kind if {
	{v.msg | some v in image_resolution.violation} == {`init container "web": cannot check image "web:1.2": resolution failed (timeout)`} with input as object.union(failed({"kind": "timeout"}), {"container": {"type": "init"}})
}

# Only this policy speaks for an image that could not be resolved, whatever
# the other policies' configuration.
test_other_policies_are_silent_on_resolution_error if {
	inp := object.union(failed(not_found), {"container": {"securityContext": {"runAsUser": 0}}})
	config := {"approvedBases": ["registry.example.com/base/*"], "maxDepth": 0, "maxLayers": 0}
	silent := [
		data.strata.policies.run_as_root.violation,
		data.strata.policies.approved_base.violation,
		data.strata.policies.lineage_depth.violation,
		data.strata.policies.base_freshness.violation,
	] with input as inp
		with data.strata.config as config
	every violations in silent {
		count(violations) == 0
	}
	count(image_resolution.violation) == 1 with input as inp with data.strata.config as config
}

stale := object.union(base, {"image": object.union(base.image, {
	"stale": true,
	"staleReason": "checked on the stale digest sha256:a1 resolved 12m0s ago, since the registry answered 503 to the re-check",
})})

test_stale_resolution_is_reported if {
	image_resolution.violation == {{
		"msg": `container "web": image "web:1.2" may have moved: checked on the stale digest sha256:a1 resolved 12m0s ago, since the registry answered 503 to the re-check`,
		"container": "web",
		"platform": "linux/amd64",
	}} with input as stale
}

test_stale_resolution_without_a_reason_is_reported if {
	count(image_resolution.violation) == 1 with input as object.union(base, {"image": object.union(base.image, {"stale": true})})
}

test_fresh_resolution_is_not_reported if {
	count(image_resolution.violation) == 0 with input as object.union(base, {"image": object.union(base.image, {"stale": false})})
}

# Decisions on inputs the Go pipeline built from the demo registry's images
# (policies/testdata/inputs.json, written by TestPolicyInputsGolden).
inputs := data.testdata.inputs

test_pipeline_resolved_image_is_allowed if {
	count(image_resolution.violation) == 0 with input as inputs.compliant
}

test_pipeline_missing_image_is_a_violation if {
	image_resolution.violation == {{
		"msg": sprintf(`container "app": cannot check image "strata-demo.local/shop/missing:1.0": %s`, [inputs.not_found.image.error.message]),
		"container": "app",
		"platform": "",
	}} with input as inputs.not_found
	inputs.not_found.image.error.kind == "not-found"
}

test_pipeline_image_without_a_manifest_for_the_pod_os_is_a_violation if {
	{v.msg | some v in image_resolution.violation} == {sprintf(`container "app": cannot check image "strata-demo.local/shop/web:1.0": %s`, [inputs.pod_os_mismatch.image.error.message])} with input as inputs.pod_os_mismatch
	inputs.pod_os_mismatch.image.error.kind == "pod-os"
}
