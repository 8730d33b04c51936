package strata.lib_test

import data.strata.lib

test_subject_of_a_container_is_its_name if {
	lib.subject == `container "web"` with input as {"container": {"name": "web", "type": "container"}}
}

test_subject_without_a_type_is_a_plain_container if {
	lib.subject == `container "web"` with input as {"container": {"name": "web"}}
}

test_subject_names_every_other_container_type if {
	every type in ["init", "sidecar", "ephemeral"] {
		lib.subject == sprintf(`%s container "migrate"`, [type]) with input as {"container": {"name": "migrate", "type": type}}
	}
}

test_finding_names_container_and_platform if {
	inp := {"container": {"name": "web"}, "image": {"platform": "linux/arm64"}}
	lib.finding("runs as root") == {"msg": "runs as root", "container": "web", "platform": "linux/arm64"} with input as inp
}

# An unresolved image has no platform: the finding must still be defined, or
# the violation would vanish with it.
test_finding_of_an_unresolved_image_has_no_platform if {
	inp := {"container": {"name": "web"}, "image": {"ref": "docker.io/library/nginx:1", "error": {"kind": "timeout", "message": "too slow"}}}
	lib.finding("cannot check") == {"msg": "cannot check", "container": "web", "platform": ""} with input as inp
}

test_size_names_bytes_in_binary_units if {
	lib.size(0) == "0 B"
	lib.size(1023) == "1023 B"
	lib.size(1024) == "1.0 KiB"
	lib.size(3584) == "3.5 KiB"
	lib.size(524288000) == "500.0 MiB"
	lib.size(629145600) == "600.0 MiB"
	lib.size(1288490189) == "1.2 GiB"
}

test_shorten_keeps_short_steps_and_cuts_long_ones if {
	lib.shorten("RUN go build .") == "RUN go build ."
	long := concat("", ["RUN ", concat(" ", [sprintf("step%d", [i]) | some i in numbers.range(1, 30)])])
	cut := lib.shorten(long)
	count(cut) == 80
	endswith(cut, "…")
	startswith(cut, "RUN step1 step2")
}

test_base_layers_is_the_direct_base_s if {
	lib.base_layers == 4 with input as {"lineage": {"chain": [{"layers": 1}, {"layers": 4}]}}
}

test_base_layers_without_a_known_base_is_0 if {
	lib.base_layers == 0 with input as {"lineage": {"chain": []}}
	lib.base_layers == 0 with input as {"lineage": {}}
}

test_entry_name_is_the_first_ref_else_the_digest if {
	lib.entry_name({"refs": ["r/a:1", "r/a:latest"], "digest": "sha256:a"}) == "r/a:1"
	lib.entry_name({"refs": [], "digest": "sha256:a"}) == "sha256:a"
}
