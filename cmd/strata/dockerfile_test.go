package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// README.md: "The Dockerfile builds a static binary onto
// distroless/static:nonroot", with the Go version go.mod asks for: the
// build stage is golang at go.mod's version and builds without cgo, and
// the image's last stage is distroless/static:nonroot as a numeric non-root
// user.
func TestDockerfileBuildsAStaticBinaryOntoDistrolessNonroot(t *testing.T) {
	_, prose := readme(t)
	t.Chdir("../..")
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dockerfile, gomod := read("Dockerfile"), read("go.mod")
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(gomod)
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(dockerfile, -1)
	if goVersion == nil || len(froms) < 2 {
		t.Fatalf("go.mod's go line %v, the Dockerfile's stages %v", goVersion, froms)
	}
	if froms[0][1] != "golang:"+goVersion[1] {
		t.Errorf("the build stage is FROM %s, want golang:%s (go.mod)", froms[0][1], goVersion[1])
	}
	if !strings.Contains(dockerfile, "CGO_ENABLED=0 go build") {
		t.Error("the Dockerfile builds strata without CGO_ENABLED=0: the binary is not static")
	}
	last := froms[len(froms)-1][1]
	if !strings.HasSuffix(last, "/distroless/static:nonroot") || !strings.Contains(prose, "a static binary onto `distroless/static:nonroot`") {
		t.Errorf("the image's last stage is FROM %s; README.md says a static binary onto distroless/static:nonroot", last)
	}
	if !regexp.MustCompile(`(?m)^USER [1-9][0-9]*:[1-9][0-9]*$`).MatchString(dockerfile) {
		t.Error("the Dockerfile sets no numeric non-root USER")
	}
}
