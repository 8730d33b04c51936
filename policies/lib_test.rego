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
