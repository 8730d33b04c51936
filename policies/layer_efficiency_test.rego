package strata.policies.layer_efficiency_test

import data.strata.policies.layer_efficiency

inputs := data.testdata.inputs

mib := 1048576

# The demo's compliant image is debian (1 layer) → temurin (4 layers) → the
# application (2 more). layers(n) gives it n layers in all.
layers(n) := object.union(inputs.compliant, {"image": {"layers": n}})

msgs(inp, config) := {v.msg | some v in layer_efficiency.violation with input as inp with data.strata.config as config}

test_eleven_application_layers_are_a_violation if {
	msgs(layers(15), {}) == {`container "app": image "strata-demo.local/shop/web:1.0" adds 11 layers on top of strata-demo.local/base/temurin:21 > maxAppLayers 10: join RUN steps, and copy the build's result from a build stage in one COPY`}
}

test_ten_application_layers_are_allowed if {
	count(msgs(layers(14), {})) == 0
}

test_max_app_layers_defaults_to_10 if {
	count(layer_efficiency.violation) == 1 with input as layers(15)
	count(msgs(layers(15), {"maxAppLayers": null})) == 1
}

test_max_app_layers_is_configurable if {
	msgs(inputs.compliant, {"maxAppLayers": 1}) == {`container "app": image "strata-demo.local/shop/web:1.0" adds 2 layers on top of strata-demo.local/base/temurin:21 > maxAppLayers 1: join RUN steps, and copy the build's result from a build stage in one COPY`}
	count(msgs(inputs.compliant, {"maxAppLayers": 2})) == 0
}

test_application_layers_need_a_known_base if {
	count(msgs(inputs.unknown_base, {"maxAppLayers": 0})) == 0
}

# cleanup is an image with a 1-layer base of 80 MiB, then the application's
# apt-get layer of 95 MiB, a RUN that only deletes (180 bytes), and its
# binary (COPY, 200 bytes).
cleanup(deleting) := object.union(inputs.compliant, {
	"image": {
		"layers": 4,
		"layerSizes": [80 * mib, 95 * mib, deleting, 200],
		"history": [
			{"createdBy": "# debian.sh --arch 'amd64' out/ 'bookworm' '@1717977600'", "emptyLayer": false, "layer": 0},
			{"createdBy": "CMD [\"bash\"]", "emptyLayer": true},
			{"createdBy": "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends ca-certificates curl # buildkit", "emptyLayer": false, "layer": 1},
			{"createdBy": "RUN /bin/sh -c rm -rf /var/lib/apt/lists/* # buildkit", "emptyLayer": false, "layer": 2},
			{"createdBy": "COPY app /usr/local/bin/app # buildkit", "emptyLayer": false, "layer": 3},
		],
	},
	"lineage": {"chain": [{"refs": ["docker.io/library/debian:12"], "digest": "sha256:d", "role": "os", "layers": 1, "evidence": ["layers"], "current": true}], "depth": 2},
})

test_a_run_that_only_deletes_after_a_large_layer_is_wasted if {
	msgs(cleanup(180), {}) == {`container "app": image "strata-demo.local/shop/web:1.0": layer 3 (RUN /bin/sh -c rm -rf /var/lib/apt/lists/* # buildkit) is 180 B after a layer of 95.0 MiB: a step that only deletes files frees nothing, the earlier layer still ships them; clean up in the step that creates the files`}
}

# Thousands of tiny RUN layers cost one pass, and ten descriptions.
test_at_most_ten_wasted_layers_are_described if {
	n := 2000
	inp := object.union(inputs.compliant, {
		"image": {
			"layers": n,
			"layerSizes": array.concat([95 * mib], [10 | some _ in numbers.range(2, n)]),
			"history": [{"createdBy": "RUN /bin/sh -c rm -rf /tmp/x", "emptyLayer": false, "layer": i} | some i in numbers.range(0, n - 1)],
		},
		"lineage": {"chain": [], "depth": 1},
	})
	count(msgs(inp, {})) == 10
}

test_wasted_layer_bytes_boundary if {
	count(msgs(cleanup(1024), {})) == 1
	count(msgs(cleanup(1025), {})) == 0
	count(msgs(cleanup(2000), {"wastedLayerBytes": 2000})) == 1
	count(msgs(cleanup(180), {"wastedLayerBytes": 100})) == 0
}

test_large_layer_bytes_boundary if {
	count(msgs(cleanup(180), {"largeLayerBytes": 95 * mib})) == 1
	count(msgs(cleanup(180), {"largeLayerBytes": (95 * mib) + 1})) == 0
}

# The first large layer is layer 1 here: largeLayerBytes is 10 MiB unless set.
test_large_layer_bytes_defaults_to_10_mib if {
	count(msgs(object.union(cleanup(180), {"image": {"layerSizes": [1000, 10 * mib, 180, 200]}}), {})) == 1
	count(msgs(object.union(cleanup(180), {"image": {"layerSizes": [1000, (10 * mib) - 1, 180, 200]}}), {})) == 0
}

test_defaults_hold_when_data_is_not_a_number if {
	count(msgs(cleanup(180), {"wastedLayerBytes": null, "largeLayerBytes": null})) == 1
}

test_a_small_copy_is_not_wasted if {
	# layer 4, COPY of 200 bytes after 95 MiB, is small on purpose.
	every msg in msgs(cleanup(5000), {}) {
		not contains(msg, "layer 4")
	}
	count(msgs(cleanup(5000), {})) == 0
}

test_a_small_layer_without_a_large_one_before_is_not_wasted if {
	small := object.union(cleanup(180), {"image": {"layerSizes": [5 * mib, 9 * mib, 180, 200]}})
	count(msgs(small, {})) == 0
}

test_the_base_s_own_small_layers_are_not_the_application_s if {
	inp := object.union(cleanup(180), {"lineage": {"chain": [{"refs": ["docker.io/library/debian:12"], "digest": "sha256:d", "role": "os", "layers": 3, "evidence": ["layers"], "current": true}]}})
	count(msgs(inp, {})) == 0
}

test_a_layer_no_step_is_matched_to_is_not_judged if {
	inp := object.union(cleanup(180), {"image": {"history": [{"createdBy": "RUN /bin/sh -c rm -rf /var/lib/apt/lists/* # buildkit", "emptyLayer": false}]}})
	count(msgs(inp, {})) == 0
}

test_the_classic_builder_s_run_steps_are_recognised if {
	classic := object.union(cleanup(180), {"image": {"history": [
		{"createdBy": "/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007327828f7530cc3455c43bbcdcaf449a75a9 in / ", "emptyLayer": false, "layer": 0},
		{"createdBy": "|1 DEBIAN_FRONTEND=noninteractive /bin/sh -c apt-get update && apt-get install -y curl", "emptyLayer": false, "layer": 1},
		{"createdBy": "|1 DEBIAN_FRONTEND=noninteractive /bin/sh -c rm -rf /var/lib/apt/lists/*", "emptyLayer": false, "layer": 2},
		{"createdBy": "/bin/sh -c #(nop) COPY file:abc in /usr/local/bin/app ", "emptyLayer": false, "layer": 3},
	]}})
	msgs(classic, {}) == {`container "app": image "strata-demo.local/shop/web:1.0": layer 3 (|1 DEBIAN_FRONTEND=noninteractive /bin/sh -c rm -rf /var/lib/apt/lists/*) is 180 B after a layer of 95.0 MiB: a step that only deletes files frees nothing, the earlier layer still ships them; clean up in the step that creates the files`}
	nop_tiny := object.union(classic, {"image": {"layerSizes": [80 * mib, 95 * mib, 5000, 20]}})
	count(msgs(nop_tiny, {})) == 0
}

test_pipeline_images_waste_nothing if {
	every inp in inputs {
		count(msgs(inp, {})) == 0
	}
}

test_resolution_error_is_silent if {
	count(msgs(inputs.not_found, {"maxAppLayers": 0, "wastedLayerBytes": 1000000000, "largeLayerBytes": 0})) == 0
}
