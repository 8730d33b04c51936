package slowclient

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// Each read finds one byte: the server never gets more than a byte to act on.
func TestTrickleSendsOneByteAtATime(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer server.Close()
	go func() {
		Trickle(t.Context(), client, []byte("abc"), time.Millisecond)
		client.Close()
	}()
	var got []string
	buf := make([]byte, 16)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			got = append(got, string(buf[:n]))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Errorf("Trickle(abc) reads = %q, want a, b, c one at a time", got)
	}
}

// Trickle ends with its context, not with its payload: an attack's
// goroutines do not outlive the test that started them.
func TestTrickleStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer server.Close()
	defer client.Close()
	go func() { _, _ = io.Copy(io.Discard, server) }()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		Trickle(ctx, client, ClientHello(), time.Hour)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Trickle of a 517-byte hello at one byte an hour still running a minute after its context ended")
	}
}
