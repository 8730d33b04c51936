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
