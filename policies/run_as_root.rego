# METADATA
# title: Containers do not run as root
# description: >-
#   A container must not run as uid 0, and must not be one the kubelet would
#   refuse to start. On Linux the effective runAsUser decides; without one,
#   the image USER does: "", root, 0, 00, +0 and 0:gid are uid 0, and a name
#   cannot be shown to be non-root without the image's /etc/passwd. On
#   Windows (a pod with spec.os.name windows, or a pod that names no OS
#   judged on a windows manifest, which only a Windows node runs) the
#   administrators are root: ContainerAdministrator, Administrator and
#   SYSTEM, whatever their domain, and an image without USER, which runs as
#   its base's default user, ContainerAdministrator on Windows Server Core.
#   Every container type is checked.
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

# The Windows rules apply where a Windows node may run the manifest: in a
# pod that says windows, and on a windows manifest of a pod that names no
# OS. The kubelet refuses a pod whose spec.os.name is another OS, but admits
# one that names none, and a nodeSelector takes it to a Windows node; there
# a runAsUser (what decides under the Linux rules, which still apply) is
# ignored. The image's config alone never turns the Linux rules off.
windows_rules if windows

windows_rules if {
	object.get(input.container, "os", "") == ""
	manifest_may_be_windows
}

# The manifest's OS is what its config says, compared without case, as
# containerd compares platforms. containerd does not check the platform of
# the manifest a reference names (only an index's entries), so a config that
# names no OS (the OCI image spec requires one) may be a Windows image too.
manifest_os := lower(split(object.get(input.image, "platform", ""), "/")[0])

manifest_may_be_windows if manifest_os == "windows"

manifest_may_be_windows if manifest_os == ""

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

# The Windows user: runAsUserName, else the image USER; "" when neither
# names one.
windows_user := input.container.securityContext.windowsRunAsUserName if {
	input.container.securityContext.windowsRunAsUserName
} else := raw_user

# runAsUserName is DOMAIN\USER or USER (the API checks both parts), and
# Windows compares names without case: the account is what follows the last
# backslash. SYSTEM (NT AUTHORITY\SYSTEM) is more than an administrator.
windows_admins := {"containeradministrator", "administrator", "system", "localsystem"}

windows_account := lower(parts[count(parts) - 1]) if {
	parts := split(windows_user, `\`)
}

messages contains msg if {
	windows_rules
	windows_user != ""
	windows_account in windows_admins
	msg := sprintf("%s runs as %s, a Windows administrator; %s", [lib.subject, windows_user, windows_advice])
}

# Without runAsUserName or USER, a Windows container runs as its base
# image's default user, which for Windows Server Core is
# ContainerAdministrator; the config cannot show it is anyone else (the
# kubelet's runAsNonRoot check looks only at a user that is named).
messages contains msg if {
	windows_rules
	windows_user == ""
	msg := sprintf("%s on Windows: the image sets no USER, so it runs as its base's default user (ContainerAdministrator on Windows Server Core); %s", [lib.subject, windows_advice])
}

# A pod that names no OS is told both ways out: a non-administrator, or
# spec.os.name linux, which keeps it off Windows nodes.
windows_advice := "set securityContext.windowsOptions.runAsUserName to ContainerUser" if {
	windows
} else := "set securityContext.windowsOptions.runAsUserName to ContainerUser, or spec.os.name to linux if the pod never runs on Windows"
