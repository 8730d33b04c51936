# METADATA
# title: Helpers the built-in policies share
# description: >-
#   A library, not a policy: strata loads it beside the policies and never
#   queries it for violations. Any policy, a user's included, may import it
#   (import data.strata.lib) so that its messages name containers as the
#   built-ins do.
package strata.lib

# subject names the container as messages do: `container "web"`, or with its
# type for the others (`init container "migrate"`, `sidecar container
# "proxy"`, `ephemeral container "debugger"`). An input without a type is a
# plain container.
subject := sprintf("container %q", [input.container.name]) if {
	object.get(input.container, "type", "container") == "container"
} else := sprintf("%s container %q", [input.container.type, input.container.name])

# finding is the violation object of the policy contract for msg: the
# container it is about and the platform evaluated, "" when the image was not
# resolved (an unresolved image has no platform).
finding(msg) := {"msg": msg, "container": input.container.name, "platform": object.get(input.image, "platform", "")}

# size names a byte count as people read it, in binary units with one
# decimal: "512 B", "3.5 KiB", "600.0 MiB", "1.2 GiB".
size(n) := sprintf("%d B", [n]) if {
	n < 1024
} else := unit(n, 1024, "KiB") if {
	n < 1048576
} else := unit(n, 1048576, "MiB") if {
	n < 1073741824
} else := unit(n, 1073741824, "GiB")

unit(n, base, name) := sprintf("%d.%d %s", [floor(tenths / 10), tenths % 10, name]) if {
	tenths := round((n * 10) / base)
}

# shorten keeps a build step readable in a message: at most 80 characters.
shorten(s) := s if {
	count(s) <= 80
} else := concat("", [substring(s, 0, 79), "…"])

# base_layers is how many of the image's layers its direct base (the last of
# the lineage chain) provides: the layers before are the base's, the layers
# from there on the application's. 0 when no base is known.
default base_layers := 0

base_layers := input.lineage.chain[count(input.lineage.chain) - 1].layers

# entry_name names a lineage entry by the first name the catalog saw for it,
# else by its digest.
entry_name(entry) := entry.refs[0] if {
	entry.refs[0]
} else := object.get(entry, "digest", "an unnamed base")
