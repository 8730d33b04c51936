// Package hangtest is a registry stuck behind a load balancer, for tests: it
// accepts connections and never answers, a fault no real registry produces
// on demand. It counts connections, so tests can prove strata's bounds.
package hangtest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Server accepts connections and never answers a request.
type Server struct {
	*httptest.Server

	mu               sync.Mutex
	open, max, total int
}

// New starts a Server that is closed when t ends; requests still hanging
// are released first, so the server closes without waiting for clients.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	release := make(chan struct{})
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-req.Context().Done():
		case <-release:
		}
	}))
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch state {
		case http.StateNew:
			s.open++
			s.total++
			s.max = max(s.max, s.open)
		case http.StateClosed, http.StateHijacked:
			s.open--
		}
	}
	s.Start()
	t.Cleanup(func() {
		close(release)
		s.Close()
	})
	return s
}

// MaxOpen is the most connections held open at once.
func (s *Server) MaxOpen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// Total is the number of connections ever opened.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}
