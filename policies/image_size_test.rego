package strata.policies.image_size_test

import data.strata.policies.image_size

inputs := data.testdata.inputs

mib := 1048576

# big is the demo's compliant image (three levels: debian, temurin, the
# application) with the sizes these tests name: a 100 MiB base and an
# application of app_mib MiB on top.
big(app_mib) := object.union(inputs.compliant, {"image": {
	"size": (100 + app_mib) * mib,
	"baseSize": 100 * mib,
}})

msgs(inp, config) := {v.msg | some v in image_size.violation with input as inp with data.strata.config as config}

test_an_image_past_max_image_size_is_a_violation if {
	msgs(big(500), {}) == {`container "app": image "strata-demo.local/shop/web:1.0" is 600.0 MiB compressed > maxImageSize 500.0 MiB (base strata-demo.local/base/temurin:21: 100.0 MiB, application: 500.0 MiB): build on a smaller base, and copy only what runs from a build stage`}
}

test_a_small_image_is_allowed if {
	count(msgs(inputs.compliant, {})) == 0
}

test_max_image_size_is_a_bound_not_a_limit_below_it if {
	at := object.union(inputs.compliant, {"image": {"size": 500 * mib, "baseSize": 0}})
	count(msgs(at, {})) == 0
	past := object.union(inputs.compliant, {"image": {"size": (500 * mib) + 1, "baseSize": 0}})
	count(msgs(past, {})) == 1
}

test_max_image_size_defaults_to_500_mib_without_data if {
	count(msgs(big(401), {})) == 1
	count(msgs(big(400), {})) == 0
	count(image_size.violation) == 1 with input as big(401)
}

test_max_image_size_that_is_not_a_number_keeps_the_default if {
	count(msgs(big(400), {"maxImageSize": null})) == 0
	count(msgs(big(401), {"maxImageSize": null})) == 1
}

test_max_image_size_is_configurable if {
	msgs(inputs.compliant, {"maxImageSize": 800}) == {`container "app": image "strata-demo.local/shop/web:1.0" is 839 B compressed > maxImageSize 800 B (base strata-demo.local/base/temurin:21: 577 B, application: 262 B): build on a smaller base, and copy only what runs from a build stage`}
	count(msgs(inputs.compliant, {"maxImageSize": 839})) == 0
}

test_max_app_size_is_unset_by_default if {
	count(msgs(big(300), {})) == 0
	count(msgs(big(300), {"maxAppSize": null})) == 0
}

test_an_application_past_max_app_size_is_a_violation if {
	msgs(big(300), {"maxAppSize": 200 * mib}) == {`container "app": image "strata-demo.local/shop/web:1.0" adds 300.0 MiB on top of its base > maxAppSize 200.0 MiB (base strata-demo.local/base/temurin:21: 100.0 MiB, application: 300.0 MiB): copy only what runs from a build stage, and keep build caches and dependencies for development out`}
}

test_max_app_size_boundary if {
	count(msgs(big(200), {"maxAppSize": 200 * mib})) == 0
	past := object.union(big(200), {"image": {"size": (300 * mib) + 1}})
	count(msgs(past, {"maxAppSize": 200 * mib})) == 1
}

test_both_sizes_are_separate_violations if {
	count(msgs(big(500), {"maxAppSize": 200 * mib})) == 2
}

test_max_app_size_needs_a_known_base if {
	unknown := object.union(big(500), {"image": {"baseSize": 0}, "lineage": {"chain": [], "depth": 1, "complete": false}})
	msgs(unknown, {"maxAppSize": 1}) == {`container "app": image "strata-demo.local/shop/web:1.0" is 600.0 MiB compressed > maxImageSize 500.0 MiB (base unknown): build on a smaller base, and copy only what runs from a build stage`}
}

test_pipeline_unknown_base_is_said_so if {
	msgs(inputs.unknown_base, {"maxImageSize": 100, "maxAppSize": 1}) == {sprintf(`container "app": image "strata-demo.local/shop/legacy:1.0" is %d B compressed > maxImageSize 100 B (base unknown): build on a smaller base, and copy only what runs from a build stage`, [inputs.unknown_base.image.size])}
}

test_resolution_error_is_silent if {
	count(msgs(inputs.not_found, {"maxImageSize": 0, "maxAppSize": 0})) == 0
}
