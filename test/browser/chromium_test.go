//go:build browser

package browser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, or $CHROMIUM. Missing, the test fails
// with what to run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed: run `make browser-deps` (apt-get install chromium), or set CHROMIUM to a Chromium binary")
	}
	return p
}

// browser is one headless chromium tab and every request it made.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	requests []string
}

// newBrowser starts a headless chromium for the test, with a generous bound
// on everything the test asks of it, so that nothing hangs. A chromium that
// dies while starting (seen once in a loaded container: "chrome failed to
// start" with no cause) is started again, twice at most.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	var err error
	for range 3 {
		var b *browser
		if b, err = startBrowser(t); err == nil {
			return b
		}
		t.Logf("starting chromium: %v", err)
	}
	t.Fatalf("starting chromium (%s) three times: %v", chromiumPath(t), err)
	return nil
}

func startBrowser(t *testing.T) (*browser, error) {
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	ctx, cancelTab := chromedp.NewContext(ctx)
	stop := func() { cancelTab(); cancelAlloc(); cancel() }
	b := &browser{ctx: ctx}
	// Listen starts the browser and its tab, whose network domain chromedp
	// enables: every request the page makes is seen from here on.
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
		}
	})
	if err != nil {
		stop()
		return nil, err
	}
	t.Cleanup(stop)
	return b, nil
}

// open loads url and waits until the page says its layout is done; it
// returns the page's own measure of the layout and the time from asking to
// the layout done, as the test saw it.
func (b *browser) open(t *testing.T, url string) (pageMs string, took time.Duration) {
	t.Helper()
	start := time.Now()
	err := chromedp.Do(b.ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS(`body[data-layout="done"]`)))
	took = time.Since(start)
	if err != nil {
		t.Fatalf("opening %s and waiting for the layout: %v", url, err)
	}
	ms, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS("body"), "data-layout-ms"))
	if err != nil {
		t.Fatalf("reading the layout time: %v", err)
	}
	return ms.Value, took
}

// seen is every URL the tab requested so far.
func (b *browser) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// do runs the actions in the tab.
func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// screenshot saves the whole page as a PNG in the test's artifact directory
// (kept under -outputdir with -artifacts: make browser keeps them in
// test-artifacts/).
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("the screenshot %s is not a PNG", path)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

// drawn is what the page drew: node ids and "from -> to (kind)" edges.
func (b *browser) drawn(t *testing.T) (nodes, edges []string) {
	t.Helper()
	nodes = eval[[]string](t, b, `Array.from(document.querySelectorAll('#nodes .node')).map(e => e.dataset.id)`)
	edges = eval[[]string](t, b, `Array.from(document.querySelectorAll('#edges .edge')).map(e => e.dataset.from + ' -> ' + e.dataset.to + ' (' + e.dataset.kind + ')')`)
	slices.Sort(nodes)
	slices.Sort(edges)
	return nodes, edges
}
