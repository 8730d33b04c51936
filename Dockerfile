# syntax=docker/dockerfile:1
# strata's image: a static binary on distroless/static (no shell, no package
# manager, non-root). Two conceptual layers: the minimal OS base and the
# application; the Go toolchain stays in the build stage. The Go version is
# the one go.mod asks for.
FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/strata ./cmd/strata

FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.title="strata" \
      org.opencontainers.image.source="https://github.com/strata-project/strata" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/static:nonroot"
COPY --from=build /out/strata /strata
USER 65532:65532
ENTRYPOINT ["/strata"]
CMD ["serve"]
