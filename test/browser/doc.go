// Package browser tests the graph page (strata graph -o html, strata serve
// --graph) in a real browser: Debian's chromium, headless, driven from Go
// through the DevTools protocol (chromedp). It runs only with the browser
// build tag: make browser, which installs chromium (make browser-deps) and
// saves the screenshots under test-artifacts/. A missing chromium fails the
// tests, never skips them.
package browser
