// Package bench measures strata's webhook under load: the load generator
// (loadgen, on package load), the no-op floor it is compared with (noop),
// and a harness, built only with the loadtest tag, that starts the real
// `strata serve` and drives it (make bench-load). See README.md for the
// scenarios and RESULTS.md for the numbers.
package bench
