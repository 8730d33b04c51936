// Package slowclient is the slow-client attack on strata's listeners: a
// connection that sends a byte at a time to hold a server's slot for as
// long as the server waits. The webhook's connection tests assert strata
// survives it; test/bench/slowconns measures it against a running server.
package slowclient

import (
	"context"
	"net"
	"time"
)

// ClientHello is the start of a TLS record announcing a 512-byte handshake
// message: trickled, it holds a connection in the TLS handshake.
func ClientHello() []byte {
	return append([]byte{0x16, 0x03, 0x01, 0x02, 0x00}, make([]byte, 512)...)
}

// Trickle writes payload one byte every interval until the connection
// fails or ctx ends.
func Trickle(ctx context.Context, c net.Conn, payload []byte, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for _, b := range payload {
		if _, err := c.Write([]byte{b}); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
