package strata.policies.single_stage_build_test

import data.strata.policies.single_stage_build

inputs := data.testdata.inputs

# Histories modelled on what `docker buildx build` records for common
# Dockerfiles: the official images' own steps, then the application's.
step(cmd, layer) := {"createdBy": cmd, "emptyLayer": false, "layer": layer}

empty(cmd) := {"createdBy": cmd, "emptyLayer": true}

golang_base := [
	step("# debian.sh --arch 'amd64' out/ 'bookworm' '@1730678400'", 0),
	step("RUN /bin/sh -c set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates curl gnupg netbase sq wget; rm -rf /var/lib/apt/lists/* # buildkit", 1),
	step("RUN /bin/sh -c set -eux; apt-get update; apt-get install -y --no-install-recommends g++ gcc libc6-dev make pkg-config; rm -rf /var/lib/apt/lists/* # buildkit", 2),
	empty("ENV GOLANG_VERSION=1.23.3"),
	empty("ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
	step("COPY /target/ / # buildkit", 3),
	step("RUN /bin/sh -c mkdir -p \"$GOPATH/src\" \"$GOPATH/bin\" && chmod -R 1777 \"$GOPATH\" # buildkit", 4),
	empty("WORKDIR /go"),
]

# FROM golang:1.23; COPY; RUN go mod download; COPY . .; RUN go build.
go_single_stage := array.concat(golang_base, [
	step("WORKDIR /src", 5),
	step("COPY go.mod go.sum ./ # buildkit", 6),
	step("RUN /bin/sh -c go mod download # buildkit", 7),
	step("COPY . . # buildkit", 8),
	step("RUN /bin/sh -c CGO_ENABLED=0 go build -o /usr/local/bin/app ./cmd/app # buildkit", 9),
	empty("ENTRYPOINT [\"/usr/local/bin/app\"]"),
])

# The same build in two stages: only the final stage's steps, on distroless.
go_multi_stage := [
	step("bazel build @distroless//static:static_root_amd64_debian12", 0),
	step("COPY /out/app /app # buildkit", 1),
	empty("USER 65532:65532"),
	empty("ENTRYPOINT [\"/app\"]"),
]

node_base := [
	step("# debian.sh --arch 'amd64' out/ 'bookworm' '@1730678400'", 0),
	step("RUN /bin/sh -c groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node # buildkit", 1),
	empty("ENV NODE_VERSION=22.11.0"),
	step("RUN /bin/sh -c ARCH= && dpkgArch=\"$(dpkg --print-architecture)\" && set -ex && apt-get update && apt-get install -y ca-certificates curl wget gnupg dirmngr xz-utils libatomic1 --no-install-recommends && rm -rf /var/lib/apt/lists/* && curl -fsSLO --compressed \"https://nodejs.org/dist/v$NODE_VERSION/node-v$NODE_VERSION-linux-$ARCH.tar.xz\" && apt-mark auto '.*' > /dev/null && apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false && node --version && npm --version # buildkit", 2),
	step("COPY docker-entrypoint.sh /usr/local/bin/ # buildkit", 3),
	empty("ENTRYPOINT [\"docker-entrypoint.sh\"]"),
	empty("CMD [\"node\"]"),
]

node_app(install) := array.concat(node_base, [
	step("WORKDIR /app", 4),
	step("COPY package.json package-lock.json ./ # buildkit", 5),
	step(sprintf("RUN /bin/sh -c %s # buildkit", [install]), 6),
	step("COPY . . # buildkit", 7),
	empty("CMD [\"node\", \"server.js\"]"),
])

debian := {"refs": ["docker.io/library/debian:12"], "digest": "sha256:d", "role": "os", "layers": 1, "evidence": ["layers"], "current": true}

golang := {"refs": ["docker.io/library/golang:1.23"], "digest": "sha256:g", "role": "runtime", "layers": 5, "evidence": ["layers"], "current": true}

static := {"refs": ["gcr.io/distroless/static-debian12:nonroot"], "digest": "sha256:s", "role": "os", "layers": 1, "evidence": ["layers"], "current": true}

node := {"refs": ["docker.io/library/node:22-bookworm-slim"], "digest": "sha256:n", "role": "runtime", "layers": 4, "evidence": ["layers"], "current": true}

image(history, chain) := object.union(inputs.compliant, {
	"image": {"ref": "registry.example.com/shop/app:1.0", "history": history, "config": {"env": ["PATH=/usr/local/bin:/usr/bin:/bin"]}},
	"lineage": {"chain": chain, "depth": count(chain) + 1},
})

msgs(inp, config) := {v.msg | some v in single_stage_build.violation with input as inp with data.strata.config as config}

test_single_stage_go_build_on_an_unknown_base_is_a_violation if {
	msgs(image(go_single_stage, []), {}) == {`container "app": image "registry.example.com/shop/app:1.0" looks built in a single stage, its build tooling shipped: c-toolchain ran "apt-get install -y --no-install-recommends g++ gcc"; go ran "go build"; go ran "go mod download"; build in a separate stage and copy only the result onto a minimal base`}
}

# With golang in the catalog, its own steps are the base's: the evidence is
# the application's steps and the toolchain base itself.
test_single_stage_go_build_on_a_known_golang_base_is_a_violation if {
	msgs(image(go_single_stage, [debian, golang]), {}) == {`container "app": image "registry.example.com/shop/app:1.0" looks built in a single stage, its build tooling shipped: go ran "go build"; go ran "go mod download"; go: built on docker.io/library/golang:1.23; build in a separate stage and copy only the result onto a minimal base`}
}

test_multi_stage_go_build_on_a_static_base_is_allowed if {
	count(msgs(image(go_multi_stage, [static]), {})) == 0
	count(msgs(image(go_multi_stage, []), {})) == 0
}

test_npm_install_is_a_violation if {
	msgs(image(node_app("npm install"), [debian, node]), {}) == {`container "app": image "registry.example.com/shop/app:1.0" looks built in a single stage, its build tooling shipped: npm-dev-dependencies ran "npm install"; build in a separate stage and copy only the result onto a minimal base`}
}

test_npm_without_dev_dependencies_is_allowed if {
	count(msgs(image(node_app("npm ci --omit=dev"), [debian, node]), {})) == 0
	count(msgs(image(node_app("npm install --production"), [debian, node]), {})) == 0
	production := object.union(image(node_app("npm ci"), [debian, node]), {"image": {"config": {"env": ["NODE_ENV=production"]}}})
	count(msgs(production, {})) == 0
}

# The node image's own steps (npm --version, apt-get purge) are not the
# application's, and match nothing when the base is unknown either.
test_node_base_alone_is_allowed if {
	count(msgs(image(node_base, []), {})) == 0
}

test_the_base_s_last_layer_is_the_boundary if {
	# Step at layer 4 is the first of the application's when the base has 4.
	hist := array.concat(node_base, [step("RUN /bin/sh -c npm install # buildkit", 4)])
	count(msgs(image(hist, [debian, node]), {})) == 1

	# With a base of 5 layers the same step is the base's.
	count(msgs(image(hist, [debian, object.union(node, {"layers": 5})]), {})) == 0
}

test_a_step_no_layer_is_matched_to_is_not_judged if {
	hist := [{"createdBy": "RUN /bin/sh -c go build -o /app . # buildkit", "emptyLayer": false}]
	count(msgs(image(hist, []), {})) == 0
}

test_classic_builder_and_other_tools_are_recognised if {
	every cmd in [
		"/bin/sh -c mvn -B package -DskipTests",
		"RUN /bin/sh -c ./mvnw package # buildkit",
		"RUN /bin/sh -c ./gradlew build --no-daemon # buildkit",
		"|1 TARGET=x86_64-unknown-linux-musl /bin/sh -c cargo build --release --target $TARGET",
		"RUN /bin/sh -c dotnet publish -c Release -o /app # buildkit",
		"RUN /bin/sh -c pip install --no-cache-dir poetry==1.8.3 && poetry install --no-root # buildkit",
		"RUN /bin/sh -c pip install -U pip setuptools wheel # buildkit",
		"RUN /bin/sh -c apt-get update && apt-get install -y build-essential && rm -rf /var/lib/apt/lists/* # buildkit",
		"RUN /bin/sh -c apk add --no-cache build-base # buildkit",
		"RUN /bin/sh -c yarn install --frozen-lockfile # buildkit",
		"RUN /bin/sh -c javac -d out Main.java # buildkit",
	] {
		count(msgs(image([step(cmd, 0)], []), {})) == 1
	}
}

# docs/policy-input.md: c-toolchain finds an install of a compiler package,
# the package right after install or add as much as after an option.
test_a_toolchain_installed_without_options_is_recognised if {
	every cmd in [
		"RUN /bin/sh -c apk add gcc musl-dev # buildkit",
		"RUN /bin/sh -c apt-get install build-essential # buildkit",
		"/bin/sh -c dnf install gcc",
	] {
		count(msgs(image([step(cmd, 0)], []), {})) == 1
	}
}

test_tooling_removed_in_its_own_step_or_a_runtime_install_is_allowed if {
	every cmd in [
		"RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends build-essential && pip install -r requirements.txt && apt-get purge -y --auto-remove build-essential # buildkit",
		"RUN /bin/sh -c apk add --no-cache --virtual .build-deps gcc musl-dev && pip install -r requirements.txt && apk del .build-deps # buildkit",
		"RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit",
		"RUN /bin/sh -c npm install -g pm2 # buildkit",
		"RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit",
		"RUN /bin/sh -c gofmt -l . && golangci-lint run # buildkit",
	] {
		count(msgs(image([step(cmd, 0)], []), {})) == 0
	}
}

test_build_tools_extend_the_built_in_list if {
	hist := [step("RUN /bin/sh -c bazel build //app:image # buildkit", 0)]
	count(msgs(image(hist, []), {})) == 0
	msgs(image(hist, []), {"buildTools": {"bazel": {"match": `\bbazel build\b`}}}) == {`container "app": image "registry.example.com/shop/app:1.0" looks built in a single stage, its build tooling shipped: bazel ran "bazel build"; build in a separate stage and copy only the result onto a minimal base`}

	# The built-in tools still apply beside it.
	count(msgs(image(node_app("npm install"), [debian, node]), {"buildTools": {"bazel": {"match": `\bbazel build\b`}}})) == 1
}

test_build_tools_replace_or_remove_a_built_in_entry_by_name if {
	npm := image(node_app("npm install"), [debian, node])
	count(msgs(npm, {"buildTools": {"npm-dev-dependencies": false}})) == 0
	count(msgs(npm, {"buildTools": {"npm-dev-dependencies": {"match": `\bnpm ci\b`}}})) == 0
}

test_build_tools_of_another_type_are_ignored if {
	npm := image(node_app("npm install"), [debian, node])
	count(msgs(npm, {"buildTools": ["not", "an", "object"]})) == 1
	count(msgs(npm, {"buildTools": {"broken": "not an entry"}})) == 1
}

test_a_pattern_that_does_not_compile_is_a_config_problem if {
	count(single_stage_build.config_problems) == 0
	single_stage_build.config_problems == {`buildTools.broken.match: (unclosed is not a regular expression (RE2)`} with data.strata.config as {"buildTools": {"broken": {"match": "(unclosed"}}}
	single_stage_build.config_problems == {`buildTools.npm-dev-dependencies.unless: 5 is not a regular expression (RE2)`} with data.strata.config as {"buildTools": {"npm-dev-dependencies": {"match": `\bnpm`, "unless": 5}}}
}

test_a_toolchain_base_named_only_by_a_claim_counts if {
	claimed := {"refs": [], "claimedName": "docker.io/library/maven:3-eclipse-temurin-21", "digest": "sha256:m", "layers": 3, "evidence": ["annotation"], "current": true}
	msgs(image(go_multi_stage, [claimed]), {}) == {`container "app": image "registry.example.com/shop/app:1.0" looks built in a single stage, its build tooling shipped: maven: built on docker.io/library/maven:3-eclipse-temurin-21; build in a separate stage and copy only the result onto a minimal base`}
}

test_pipeline_images_show_no_build_tooling if {
	every inp in inputs {
		count(msgs(inp, {})) == 0
	}
}

test_resolution_error_is_silent if {
	count(msgs(inputs.not_found, {"buildTools": {"anything": {"match": "."}}})) == 0
}
