# METADATA
# title: Containers do not run as root
# description: >-
#   A container must not run as uid 0, and must not be one the kubelet would
#   refuse to start. On Linux the effective runAsUser decides; without one,
#   the image USER does: "", root, 0, 00, +0 and 0:gid are uid 0, and a name
#   cannot be shown to be non-root without the image's /etc/passwd. In a pod
#   with spec.os.name windows (never because the image says windows) the user
#   ContainerAdministrator is root. Every container type is checked.
# custom:
#   id: run-as-root
#   action: enforce
package strata.policies.run_as_root

import data.strata.lib

violation contains v if {
	not input.image.error
	some msg in messages
	v := lib.finding(msg)
}

# Only the pod decides (spec.os.name, which the kubelet enforces): an image's
# config saying windows must not switch the Linux rules off on a Linux node.
windows if input.container.os == "windows"

non_root_required if input.container.securityContext.runAsNonRoot == true

# A config without USER runs as root, like USER "".
image_user := input.image.config.user if {
	input.image.config.user
} else := {"raw": "", "uid": 0}

# Messages quote the USER as written; a message must never be undefined, or
# its violation would vanish with it.
raw_user := object.get(image_user, "raw", "")

# The image USER matters only when the pod does not set the uid itself.
image_user_decides if {
	not windows
	not run_as_user_set
}

run_as_user_set if is_number(input.container.securityContext.runAsUser)

messages contains msg if {
	not windows
	input.container.securityContext.runAsUser == 0
	non_root_required
	msg := sprintf("kubelet would refuse to start %s: runAsNonRoot is true but runAsUser is 0; set a non-zero runAsUser", [lib.subject])
}

messages contains msg if {
	not windows
	input.container.securityContext.runAsUser == 0
	not non_root_required
	msg := sprintf("%s runs as uid 0: runAsUser is 0; set a non-zero runAsUser", [lib.subject])
}

messages contains msg if {
	image_user_decides
	image_user.invalid
	msg := sprintf("%s: image USER %q is invalid (%s); set runAsUser to a non-zero uid", [lib.subject, raw_user, image_user.invalid])
}

messages contains msg if {
	image_user_decides
	image_user.uid == 0
	non_root_required
	msg := sprintf("kubelet would refuse to start %s: runAsNonRoot is true but image user %q is uid 0; set runAsUser to a non-zero uid", [lib.subject, raw_user])
}

messages contains msg if {
	image_user_decides
	image_user.uid == 0
	not non_root_required
	msg := sprintf("%s runs as root: image user %q is uid 0; set runAsUser or build the image with a non-root USER", [lib.subject, raw_user])
}

messages contains msg if {
	image_user_decides
	named_user
	non_root_required
	msg := sprintf("kubelet would refuse to start %s: runAsNonRoot is true but image user %q is not numeric; set runAsUser to a non-zero uid", [lib.subject, raw_user])
}

messages contains msg if {
	image_user_decides
	named_user
	not non_root_required
	msg := sprintf("%s: cannot verify that image user %q is not root; set runAsUser to a non-zero uid", [lib.subject, raw_user])
}

# A name whose uid only the image's /etc/passwd knows (an invalid USER has no
# uid either, and gets its own message). The test is is_number, not == null,
# because OPA types the schema's ["integer", "null"] as a number.
named_user if {
	not image_uid_known
	not image_user.invalid
}

image_uid_known if is_number(image_user.uid)

windows_user := input.container.securityContext.windowsRunAsUserName if {
	input.container.securityContext.windowsRunAsUserName
} else := raw_user

messages contains msg if {
	windows
	lower(windows_user) == "containeradministrator"
	msg := sprintf("%s runs as %s, the Windows administrator; set securityContext.windowsOptions.runAsUserName to ContainerUser", [lib.subject, windows_user])
}
