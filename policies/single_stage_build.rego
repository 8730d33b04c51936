# METADATA
# title: Build tooling stays out of the runtime image
# description: >-
#   An image built in one stage ships its compilers, package managers' caches
#   and development dependencies. Evidence, from what the image says of its
#   own build: a step the application ran (its history after the direct
#   base's layers; the whole history when the base is unknown) that matches a
#   build tool of data.strata.config.buildTools, or a base in its lineage
#   whose name matches a tool's images (a single-stage build FROM a toolchain
#   image). buildTools is merged by name over the built-in list: an entry
#   {match, unless, unlessEnv, images} adds or replaces a tool, false (or an
#   entry with neither match nor images) removes one. match and unless are
#   regular expressions (RE2) on a step's created_by, unlessEnv on the
#   image's environment entries; images are globs on canonical references.
#   A history is what the builder wrote: evidence, never proof.
# custom:
#   id: single-stage-build
#   action: warn
package strata.policies.single_stage_build

import data.strata.lib

# build_tools_default is the built-in list (docs/policy-input.md lists it).
build_tools_default := {
	"go": {
		"match": `\bgo (build|install|mod download|generate)\b`,
		"images": ["docker.io/library/golang:*"],
	},
	"maven": {
		"match": `(^|[\s/;&|(])mvnw? `,
		"images": ["docker.io/library/maven:*"],
	},
	"gradle": {
		"match": `(^|[\s/;&|(])gradlew? `,
		"images": ["docker.io/library/gradle:*"],
	},
	"cargo": {
		"match": `\bcargo (build|install)\b`,
		"images": ["docker.io/library/rust:*"],
	},
	"dotnet-sdk": {
		"match": `\bdotnet (build|publish|restore)\b`,
		"images": ["mcr.microsoft.com/dotnet/sdk:*"],
	},
	"javac": {"match": `(^|[\s/;&|(])javac `},
	"npm-dev-dependencies": {
		"match": `\bnpm (ci|install|i)\b`,
		"unless": `--omit[= ]dev|--only[= ]prod|--production|NODE_ENV=production|\s(-g|--global)\b`,
		"unlessEnv": `^NODE_ENV=production$`,
	},
	"yarn-dev-dependencies": {
		"match": `\byarn install\b`,
		"unless": `--production|NODE_ENV=production`,
		"unlessEnv": `^NODE_ENV=production$`,
	},
	"pip-build-backend": {"match": `(?i)\bpip3? install\b[^;&|]*\s(setuptools|wheel|poetry(-core)?|hatchling|flit(-core)?|cython|maturin|pdm|scikit-build(-core)?)(\s|[=<>~!]|$)`},
	"c-toolchain": {
		"match": `\b(apt-get|apt|apk|yum|dnf|microdnf)\b[^;&|]*\s(install|add)\s([^;&|]*\s)?(build-essential|build-base|gcc|g\+\+|clang|"Development Tools")(\s|$)`,
		"unless": `\b(apt-get|apt) (purge|remove|autoremove)\b|\bapk del\b|\b(yum|dnf|microdnf) (remove|erase)\b`,
		"images": ["docker.io/library/gcc:*"],
	},
}

default build_tools_configured := {}

build_tools_configured := t if {
	t := data.strata.config.buildTools
	is_object(t)
}

# tools are the entries of the merged list. Their patterns are checked once,
# when the policies load (config_problems): checked here, in every
# evaluation, they cost most of the policy's time.
#
# A complete rule, not a partial object: OPA caches a complete rule's value
# for the rest of one evaluation, where a partial object enumerated in a loop
# is evaluated again for every step of the history.
tools := {name: tool |
	some name, tool in object.union(build_tools_default, build_tools_configured)
	is_object(tool)
}

# config_problems name the patterns that would fail every evaluation: strata
# refuses to load the policies with them (strata config validate names them
# in strata.yaml first).
config_problems contains sprintf("buildTools.%s.%s: %v is not a regular expression (RE2)", [name, key, p]) if {
	some name, tool in tools
	some key in ["match", "unless", "unlessEnv"]
	p := object.get(tool, key, "")
	not valid_pattern(p)
}

valid_pattern(p) if {
	is_string(p)
	regex.is_valid(p)
}

violation contains v if {
	not input.image.error
	count(evidence) > 0
	v := lib.finding(sprintf(
		"%s: image %q looks built in a single stage, its build tooling shipped: %s; build in a separate stage and copy only the result onto a minimal base",
		[lib.subject, input.image.ref, concat("; ", sort(evidence))],
	))
}

# The evidence quotes what matched, not the step: a RUN step is often long.
evidence contains sprintf("%s ran %q", [name, lib.shorten(trim_space(found[0]))]) if {
	some step in input.image.history
	step.layer >= lib.base_layers
	some name, tool in tools
	pattern := object.get(tool, "match", "")
	pattern != ""
	found := regex.find_n(pattern, step.createdBy, 1)
	count(found) == 1
	not excused(tool, step.createdBy)
}

# A base known by its layers, whatever its name's source, is a toolchain
# image if a name the catalog saw for it, or the name its claim gives it,
# matches: a false name could only add this warning. (When build provenance
# verifies a base against the layers, it joins the chain the same way.)
evidence contains sprintf("%s: built on %s", [name, base_name]) if {
	some entry in input.lineage.chain
	some base_name in names(entry)
	some name, tool in tools
	some pattern in object.get(tool, "images", [])
	is_string(pattern)
	glob.match(pattern, ["/"], base_name)
}

names(entry) := array.concat(entry.refs, [n | n := entry.claimedName])

excused(tool, cmd) if {
	unless := object.get(tool, "unless", "")
	unless != ""
	regex.match(unless, cmd)
}

excused(tool, _) if {
	unless_env := object.get(tool, "unlessEnv", "")
	unless_env != ""
	some env in input.image.config.env
	regex.match(unless_env, env)
}
