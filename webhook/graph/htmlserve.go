package graph

import (
	"bytes"
	"io"
	"net/http"
)

// pageCSP is the page's Content-Security-Policy, also in its <meta>: inline
// styles and script only, no fetch of any kind.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

// HTMLHandler serves the page of the graph src returns, drawn anew on each
// GET, read-only (strata serve --graph, on the health listener at /graph).
func HTMLHandler(src func() *Graph) http.Handler {
	return serveGraph(src, "text/html; charset=utf-8", WriteHTML)
}

// JSONHandler serves the graph src returns as JSON (at /graph.json).
func JSONHandler(src func() *Graph) http.Handler {
	return serveGraph(src, "application/json", WriteJSON)
}

func serveGraph(src func() *Graph, contentType string, write func(io.Writer, *Graph) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the graph is read-only: GET it", http.StatusMethodNotAllowed)
			return
		}
		// Written whole before the first byte goes out, so that a failure
		// is an error status rather than half a page.
		var buf bytes.Buffer
		if err := write(&buf, src()); err != nil {
			http.Error(w, "drawing the graph: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", pageCSP)
		_, _ = w.Write(buf.Bytes())
	})
}
