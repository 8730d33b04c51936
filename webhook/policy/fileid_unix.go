//go:build unix

package policy

import (
	"io/fs"
	"syscall"
)

// fileID is the device and inode of a file, so that a replaced file with
// the same size and mtime is still noticed.
func fileID(info fs.FileInfo) (dev, inode uint64) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // int32 on some platforms
	}
	return 0, 0
}
