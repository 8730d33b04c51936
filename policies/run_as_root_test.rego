package strata.policies.run_as_root_test

import data.strata.policies.run_as_root

# base is an input the Go pipeline built (TestPolicyInputsGolden), with the
# values these tests name: every key Go emits is there, as Go types it.
base := object.union(data.testdata.inputs.compliant, {
	"apiVersion": "strata.dev/v1",
	"request": {"operation": "CREATE", "dryRun": false, "namespace": "shop", "user": "alice@example.com"},
	"workload": {"kind": "Deployment", "name": "web", "namespace": "shop", "labels": {}, "annotations": {}},
	"container": {
		"name": "web",
		"type": "container",
		"image": "registry.example.com/shop/web:1.2",
		"os": "",
		"securityContext": {},
	},
	"image": {
		"ref": "registry.example.com/shop/web:1.2",
		"digest": "sha256:aaaa",
		"platformRef": "registry.example.com/shop/web@sha256:aaaa",
		"platformDigest": "sha256:aaaa",
		"platform": "linux/amd64",
		"layers": 6,
		"config": {"user": {"raw": "65532", "uid": 65532, "gid": null}},
	},
	"lineage": {"chain": [], "depth": 1, "complete": false},
})

# with_patch builds an input from base; nested objects merge.
with_patch(patch) := object.union(base, patch)

# with_user replaces the image user whole (object.union would merge it into
# the base's, keeping keys the new one lacks).
with_user(user) := object.union(object.remove(base, ["image"]), {"image": object.union(
	object.remove(base.image, ["config"]),
	{"config": {"user": user}},
)})

with_user_and_context(user, sc) := object.union(with_user(user), {"container": {"securityContext": sc}})

# The users below are what Go's ParseUser makes of each USER string.
root_users := [
	{"raw": "", "uid": 0, "gid": null, "name": "root"},
	{"raw": "root", "uid": 0, "gid": null, "name": "root"},
	{"raw": "0", "uid": 0, "gid": null},
	{"raw": "00", "uid": 0, "gid": null},
	{"raw": "+0", "uid": 0, "gid": null},
	{"raw": "0:0", "uid": 0, "gid": 0},
	{"raw": "0:1000", "uid": 0, "gid": 1000},
]

app_user := {"raw": "app", "uid": null, "gid": null, "name": "app"}

msgs(inp) := {v.msg | some v in run_as_root.violation with input as inp}

test_non_root_image_is_allowed if {
	count(run_as_root.violation) == 0 with input as base
}

test_every_root_user_string_is_root if {
	every user in root_users {
		msgs(with_user(user)) == {sprintf(
			`container "web" runs as root: image user %q is uid 0; set runAsUser or build the image with a non-root USER`,
			[user.raw],
		)}
	}
}

test_root_group_alone_is_not_root if {
	count(msgs(with_user({"raw": "1000:0", "uid": 1000, "gid": 0}))) == 0
}

test_violation_names_container_and_platform if {
	run_as_root.violation == {{
		"msg": `container "web" runs as root: image user "" is uid 0; set runAsUser or build the image with a non-root USER`,
		"container": "web",
		"platform": "linux/amd64",
	}} with input as with_user(root_users[0])
}

test_image_without_user_runs_as_root if {
	inp := object.union(object.remove(base, ["image"]), {"image": object.remove(base.image, ["config"])})
	msgs(inp) == {`container "web" runs as root: image user "" is uid 0; set runAsUser or build the image with a non-root USER`}
}

test_named_user_cannot_be_verified if {
	msgs(with_user(app_user)) == {`container "web": cannot verify that image user "app" is not root; set runAsUser to a non-zero uid`}
}

test_invalid_user_is_a_violation if {
	user := {"raw": "a b", "uid": null, "gid": null, "invalid": `user "a b": is neither a number nor a valid user name`}
	msgs(with_user(user)) == {`container "web": image USER "a b" is invalid (user "a b": is neither a number nor a valid user name); set runAsUser to a non-zero uid`}
}

test_invalid_user_with_run_as_user_is_allowed if {
	user := {"raw": "a b", "uid": null, "gid": null, "invalid": "bad"}
	count(msgs(with_user_and_context(user, {"runAsUser": 1000}))) == 0
}

test_run_as_user_overrides_root_image if {
	every user in root_users {
		count(msgs(with_user_and_context(user, {"runAsUser": 1000}))) == 0
	}
}

test_run_as_user_overrides_named_image_user if {
	count(msgs(with_user_and_context(app_user, {"runAsUser": 1000, "runAsNonRoot": true}))) == 0
}

test_run_as_user_zero_overrides_non_root_image if {
	msgs(with_patch({"container": {"securityContext": {"runAsUser": 0}}})) == {`container "web" runs as uid 0: runAsUser is 0; set a non-zero runAsUser`}
}

test_run_as_user_zero_with_run_as_non_root_is_refused if {
	msgs(with_patch({"container": {"securityContext": {"runAsUser": 0, "runAsNonRoot": true}}})) == {`kubelet would refuse to start container "web": runAsNonRoot is true but runAsUser is 0; set a non-zero runAsUser`}
}

test_run_as_non_root_with_root_image_is_refused if {
	msgs(with_user_and_context(root_users[1], {"runAsNonRoot": true})) == {`kubelet would refuse to start container "web": runAsNonRoot is true but image user "root" is uid 0; set runAsUser to a non-zero uid`}
}

test_run_as_non_root_with_named_user_is_refused if {
	msgs(with_user_and_context(app_user, {"runAsNonRoot": true})) == {`kubelet would refuse to start container "web": runAsNonRoot is true but image user "app" is not numeric; set runAsUser to a non-zero uid`}
}

test_run_as_non_root_with_numeric_user_is_allowed if {
	count(msgs(with_patch({"container": {"securityContext": {"runAsNonRoot": true}}}))) == 0
}

# Pod runAsNonRoot true under a container's false: Go merges them to false,
# so the container runs as root without the kubelet refusing it.
test_container_run_as_non_root_false_wins_over_pod if {
	msgs(with_user_and_context(root_users[1], {"runAsNonRoot": false})) == {`container "web" runs as root: image user "root" is uid 0; set runAsUser or build the image with a non-root USER`}
}

test_every_container_type_is_checked if {
	every type, label in {"container": "container", "init": "init container", "sidecar": "sidecar container", "ephemeral": "ephemeral container"} {
		inp := with_patch({"container": {"type": type, "name": "migrate"}, "image": {"config": {"user": root_users[1]}}})
		msgs(inp) == {sprintf(`%s "migrate" runs as root: image user "root" is uid 0; set runAsUser or build the image with a non-root USER`, [label])}
	}
}

windows := {"container": {"os": "windows"}, "image": {"platform": "windows/amd64"}}

test_windows_container_administrator_is_root if {
	inp := object.union(with_user({"raw": "ContainerAdministrator", "uid": null, "gid": null, "name": "ContainerAdministrator"}), windows)
	msgs(inp) == {`container "web" runs as ContainerAdministrator, a Windows administrator; set securityContext.windowsOptions.runAsUserName to ContainerUser`}
}

test_windows_user_name_is_case_insensitive if {
	inp := object.union(with_user_and_context(app_user, {"windowsRunAsUserName": "containeradministrator"}), windows)
	count(msgs(inp)) == 1
}

test_windows_run_as_user_name_overrides_image if {
	admin := {"raw": "ContainerAdministrator", "uid": null, "gid": null, "name": "ContainerAdministrator"}
	inp := object.union(with_user_and_context(admin, {"windowsRunAsUserName": "ContainerUser"}), windows)
	count(msgs(inp)) == 0
}

test_windows_ignores_linux_user_rules if {
	every user in [root_users[1], app_user] {
		inp := object.union(with_user_and_context(user, {"runAsNonRoot": true}), windows)
		count(msgs(inp)) == 0
	}
}

# Windows Server Core sets no USER: its containers run as
# ContainerAdministrator, which the config cannot rule out.
test_windows_image_without_user_is_administrator if {
	inp := object.union(with_user(root_users[0]), windows)
	msgs(inp) == {`container "web" on Windows: the image sets no USER, so it runs as its base's default user (ContainerAdministrator on Windows Server Core); set securityContext.windowsOptions.runAsUserName to ContainerUser`}
}

test_windows_run_as_user_name_covers_an_image_without_user if {
	inp := object.union(with_user_and_context(root_users[0], {"windowsRunAsUserName": "ContainerUser"}), windows)
	count(msgs(inp)) == 0
}

# runAsUserName is DOMAIN\USER: the account decides, without case.
test_windows_administrators_with_a_domain_are_root if {
	every name in [`User Manager\ContainerAdministrator`, `NT AUTHORITY\SYSTEM`, `nt authority\system`, "SYSTEM", `WORKGROUP\Administrator`] {
		inp := object.union(with_user_and_context(app_user, {"windowsRunAsUserName": name}), windows)
		msgs(inp) == {sprintf(`container "web" runs as %s, a Windows administrator; set securityContext.windowsOptions.runAsUserName to ContainerUser`, [name])}
	}
}

test_windows_non_administrators_with_a_domain_pass if {
	every name in [`NT AUTHORITY\NETWORK SERVICE`, `NT AUTHORITY\LOCAL SERVICE`, `User Manager\ContainerUser`] {
		inp := object.union(with_user_and_context(app_user, {"windowsRunAsUserName": name}), windows)
		count(msgs(inp)) == 0
	}
}

# A pod that names no OS may land on a Windows node, which runs the image's
# windows manifest: there the Windows rules apply beside the Linux ones, and
# a runAsUser (ignored on Windows) does not clear ContainerAdministrator.
test_pod_without_os_on_a_windows_manifest_gets_the_windows_rules if {
	admin := {"raw": "ContainerAdministrator", "uid": null, "gid": null, "name": "ContainerAdministrator"}
	inp := with_patch({
		"container": {"os": "", "securityContext": {"runAsUser": 1000, "runAsNonRoot": true}},
		"image": {"platform": "windows/amd64", "config": {"user": admin}},
	})
	msgs(inp) == {`container "web" runs as ContainerAdministrator, a Windows administrator; set securityContext.windowsOptions.runAsUserName to ContainerUser, or spec.os.name to linux if the pod never runs on Windows`}
}

# A plain manifest runs wherever it is pulled; its config's os is compared
# without case, and a config without one may be a Windows image.
test_pod_without_os_on_a_manifest_that_may_be_windows_gets_the_windows_rules if {
	admin := {"raw": "ContainerAdministrator", "uid": null, "gid": null, "name": "ContainerAdministrator"}
	every platform in ["Windows/amd64", "WINDOWS/amd64", "/amd64", ""] {
		inp := with_patch({
			"container": {"os": "", "securityContext": {"runAsUser": 1000}},
			"image": {"platform": platform, "config": {"user": admin}},
		})
		msgs(inp) == {`container "web" runs as ContainerAdministrator, a Windows administrator; set securityContext.windowsOptions.runAsUserName to ContainerUser, or spec.os.name to linux if the pod never runs on Windows`}
	}
}

test_pod_saying_linux_gets_no_windows_rules if {
	admin := {"raw": "ContainerAdministrator", "uid": null, "gid": null, "name": "ContainerAdministrator"}
	inp := with_patch({
		"container": {"os": "linux", "securityContext": {"runAsUser": 1000}},
		"image": {"platform": "", "config": {"user": admin}},
	})
	count(msgs(inp)) == 0
}

test_pod_without_os_on_a_linux_manifest_gets_no_windows_rules if {
	inp := with_user(root_users[0])
	msgs(inp) == {`container "web" runs as root: image user "" is uid 0; set runAsUser or build the image with a non-root USER`}
}

# The image's own config decides nothing about where it runs: a root image
# whose config claims windows still runs as root on the Linux node a pod
# without spec.os.name: windows is scheduled to.
test_image_claiming_windows_keeps_linux_root_rules if {
	inp := with_patch({"image": {"platform": "windows/amd64", "config": {"user": root_users[1]}}})
	msgs(inp) == {`container "web" runs as root: image user "root" is uid 0; set runAsUser or build the image with a non-root USER`}
}

test_image_claiming_windows_keeps_linux_run_as_user_rules if {
	inp := with_patch({"container": {"securityContext": {"runAsUser": 0}}, "image": {"platform": "windows/amd64"}})
	msgs(inp) == {`container "web" runs as uid 0: runAsUser is 0; set a non-zero runAsUser`}
}

test_pod_os_windows_selects_windows_rules if {
	inp := with_patch({"container": {"os": "windows"}, "image": {"platform": "linux/amd64", "config": {"user": {"raw": "ContainerAdministrator", "uid": null, "gid": null}}}})
	msgs(inp) == {`container "web" runs as ContainerAdministrator, a Windows administrator; set securityContext.windowsOptions.runAsUserName to ContainerUser`}
}

test_resolution_error_is_silent if {
	inp := object.union(object.remove(base, ["image", "lineage"]), {
		"container": {"securityContext": {"runAsUser": 0}},
		"image": {"ref": "registry.example.com/shop/web:1.2", "error": {"kind": "not-found", "message": "no such image"}},
		"lineage": {},
	})
	count(msgs(inp)) == 0
}

test_message_never_depends_on_raw_user if {
	msgs(with_user({"uid": 0})) == {`container "web" runs as root: image user "" is uid 0; set runAsUser or build the image with a non-root USER`}
}

# Decisions on inputs the Go pipeline built from the demo registry's images
# (policies/testdata/inputs.json, written by TestPolicyInputsGolden).
inputs := data.testdata.inputs

test_pipeline_non_root_image_is_allowed if {
	count(msgs(inputs.compliant)) == 0
}

test_pipeline_root_image_is_a_violation if {
	run_as_root.violation == {{
		"msg": `container "app" runs as root: image user "" is uid 0; set runAsUser or build the image with a non-root USER`,
		"container": "app",
		"platform": "linux/amd64",
	}} with input as inputs.root_image
}

test_pipeline_pod_run_as_user_overrides_root_image if {
	count(msgs(inputs.root_image_run_as_user)) == 0
}

test_pipeline_run_as_non_root_with_root_image_is_refused if {
	msgs(inputs.root_image_run_as_non_root) == {`kubelet would refuse to start container "app": runAsNonRoot is true but image user "" is uid 0; set runAsUser to a non-zero uid`}
}

test_pipeline_run_as_user_zero_is_a_violation if {
	msgs(inputs.run_as_user_zero) == {`container "app" runs as uid 0: runAsUser is 0; set a non-zero runAsUser`}
}

test_pipeline_root_init_and_sidecar_containers_are_violations if {
	msgs(inputs.root_init_container) == {`init container "app" runs as root: image user "" is uid 0; set runAsUser or build the image with a non-root USER`}
	msgs(inputs.root_sidecar) == {`sidecar container "app" runs as root: image user "" is uid 0; set runAsUser or build the image with a non-root USER`}
}

test_pipeline_unresolved_images_are_silent if {
	count(msgs(inputs.not_found)) == 0
	count(msgs(inputs.pod_os_mismatch)) == 0
}
