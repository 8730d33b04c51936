package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// README.md's "Read a denial" posts an example review with curl to what
// `make run` serves and shows the answer: the answer is, byte for byte, what
// strata serve --dev --demo answers on this commit.
func TestReadmeDenialIsWhatServeAnswers(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```console\n\\$ curl [^\n]*\\\\\n *--data @(\\S+) https://localhost:8443(\\S+)\n([^\n]*)\n```").FindStringSubmatch(string(raw))
	if block == nil {
		t.Fatal("README.md has no curl block posting a review to localhost:8443")
	}
	file, path, want := block[1], block[2], block[3]

	s := startServe(t, "--dev", "--demo")
	body, err := os.ReadFile("../../" + file)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, // --dev's self-signed certificate
	}}
	resp, err := client.Post("https://"+s.addr+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s to %s: %v", file, path, err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSuffix(string(got), "\n") != want {
		t.Errorf("POST %s to %s answers:\n%s\nREADME.md shows:\n%s", file, path, got, want)
	}
}
