package testutil

import "fmt"

// Thousands writes n as the documents do, with commas between groups of
// three digits: 1,024 and 50,000.
func Thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
