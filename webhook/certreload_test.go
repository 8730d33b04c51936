package webhook

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServeReloadsReplacedCertificate replaces the serving certificate
// under a running Serve, the two ways it is replaced in practice, and
// requires a later TLS handshake to present the new one without a restart:
// cert-manager or a rotation script renews a Secret while the API server
// keeps calling.
func TestServeReloadsReplacedCertificate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// layout lays out a first certificate in certDir; replace puts a new
		// one in its place. Both return the certificate written.
		layout, replace func(t *testing.T, certDir string) []byte
	}{
		{"files rewritten in place", writeServingCert, writeServingCert},
		// A mounted Secret: tls.crt -> ..data/tls.crt, and an update writes
		// a new timestamped directory and swaps the ..data link atomically.
		{"Secret volume link swapped", secretVolume("..2026_01"), secretVolume("..2026_02")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			certDir := t.TempDir()
			first := tc.layout(t, certDir)
			srv := startServe(t, ServerOptions{CertDir: certDir})
			if got := servedCert(t, srv.addr); !bytes.Equal(got, first) {
				t.Fatalf("handshake before the replacement presented another certificate than the one in %s", certDir)
			}

			second := tc.replace(t, certDir)
			if bytes.Equal(first, second) {
				t.Fatal("the replacement certificate is the first one")
			}
			// The watcher is notified by the file system (and polls as a
			// fallback); the bound is generous, not a latency requirement.
			deadline := time.Now().Add(30 * time.Second)
			for {
				got := servedCert(t, srv.addr)
				if bytes.Equal(got, second) {
					break
				}
				if !bytes.Equal(got, first) {
					t.Fatalf("handshake presented a certificate that is neither the first nor the replacement")
				}
				if time.Now().After(deadline) {
					t.Fatalf("handshakes still presented the first certificate 30s after %s was replaced, want the new one", certDir)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// writeServingCert writes a new self-signed tls.crt and tls.key into dir
// and returns the certificate's DER.
func writeServingCert(t *testing.T, dir string) []byte {
	t.Helper()
	writeCert(t, dir)
	raw, err := os.ReadFile(filepath.Join(dir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatalf("%s/tls.crt holds no PEM block", dir)
	}
	return block.Bytes
}

// secretVolume lays out certDir as the kubelet lays out a Secret volume:
// the files in a directory named version, reached through the ..data link,
// which is replaced by a rename so readers never see half an update.
func secretVolume(version string) func(t *testing.T, certDir string) []byte {
	return func(t *testing.T, certDir string) []byte {
		t.Helper()
		dir := filepath.Join(certDir, version)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		der := writeServingCert(t, dir)
		tmp := filepath.Join(certDir, "..data_tmp")
		if err := os.Symlink(version, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(certDir, "..data")); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"tls.crt", "tls.key"} {
			link := filepath.Join(certDir, name)
			if _, err := os.Lstat(link); err == nil {
				continue // the link through ..data already exists
			}
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
		return der
	}
}

// servedCert completes a TLS handshake with addr and returns the DER of the
// certificate it presented.
func servedCert(t *testing.T, addr string) []byte {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	// Trust is not the point here: the test compares the certificate
	// presented with the files it wrote.
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		t.Fatalf("TLS handshake with %s: no certificate presented", addr)
	}
	return certs[0].Raw
}
