package webhook

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// handshake dials the webhook listener with cfg and returns the negotiated
// state, or the handshake's error.
func handshake(t *testing.T, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}

func TestWebhookRefusesTLS12ClientOfferingOnlyCBCSHA1Suites(t *testing.T) {
	t.Parallel()
	srv, pool, _ := serveDemo(t, ServerOptions{})

	for _, suite := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, // ECDHE-ECDSA-AES128-SHA
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_RSA_WITH_AES_256_CBC_SHA, // AES256-SHA
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	} {
		t.Run(tls.CipherSuiteName(suite), func(t *testing.T) {
			st, err := handshake(t, srv.addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
			if err == nil {
				t.Errorf("TLS 1.2 handshake offering only %s negotiated %s, want it refused", tls.CipherSuiteName(suite), tls.CipherSuiteName(st.CipherSuite))
			}
		})
	}
	for _, suite := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} {
		t.Run(tls.CipherSuiteName(suite), func(t *testing.T) {
			st, err := handshake(t, srv.addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
			if err != nil || st.CipherSuite != suite {
				t.Errorf("TLS 1.2 handshake offering %s = %s, %v, want that AEAD suite accepted", tls.CipherSuiteName(suite), tls.CipherSuiteName(st.CipherSuite), err)
			}
		})
	}
	t.Run("TLS 1.3 preferred", func(t *testing.T) {
		st, err := handshake(t, srv.addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
		if err != nil || st.Version != tls.VersionTLS13 {
			t.Errorf("handshake of a client offering TLS 1.2 and 1.3 = version %x, %v, want TLS 1.3", st.Version, err)
		}
	})
}

func TestWebhookWithRSACertRefusesTLS12ClientOfferingOnlyCBCSHA1Suites(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	certDir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pool := writeCertFor(t, certDir, key)
	srv := startServe(t, ServerOptions{CertDir: certDir, Handlers: asAdmissionHandlers(handlers(p.Checker, nil, nil))})
	for _, suite := range []uint16{
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, // ECDHE-RSA-AES128-SHA
		tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_RSA_WITH_AES_256_CBC_SHA, // AES256-SHA
	} {
		st, err := handshake(t, srv.addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
		if err == nil {
			t.Errorf("TLS 1.2 handshake offering only %s negotiated %s, want it refused", tls.CipherSuiteName(suite), tls.CipherSuiteName(st.CipherSuite))
		}
	}
	st, err := handshake(t, srv.addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}})
	if err != nil || st.CipherSuite != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("TLS 1.2 handshake offering ECDHE-RSA-AES128-GCM-SHA256 = %s, %v, want it accepted", tls.CipherSuiteName(st.CipherSuite), err)
	}
}
