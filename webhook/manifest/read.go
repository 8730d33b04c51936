// Package manifest reads Kubernetes manifests as kubectl apply -f reads
// them — files, directories and standard input; multi-document YAML, JSON
// streams, nested Lists — and returns their pod-bearing objects, each with
// the file, line, document and item it came from.
package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/strata-project/strata/webhook/workload"
)

// Manifest is one pod-bearing object read from a file.
type Manifest struct {
	File     string // the path it was read from, or StdinName
	Line     int    // where its document's content starts
	Document int    // from 1, among the file's non-empty documents
	Item     int    // from 1 in a List, else 0
	Workload *workload.Workload
	// ImageLines maps ImageKey(container, image) to the line of the
	// container's image in File, when the document could be read for it.
	ImageLines map[string]int
	// Source is, for standard input, the template helm rendered the
	// document from (its "# Source:" comment); "" otherwise.
	Source string
	// Defaulted is set when the object names no namespace: Workload's is
	// then DefaultNamespace, as kubectl's would be without -n, and a
	// reader that knows better (check -n) may set another.
	Defaulted bool
}

// DefaultNamespace is the namespace of an object that names none, as
// kubectl applies it without -n.
const DefaultNamespace = "default"

// StdinName is how standard input is named in Manifest.File and errors.
const StdinName = "stdin"

// Stdin is the path that names standard input, as kubectl's -f - does.
const Stdin = "-"

// Limits bound what Read reads, so that a repository (or whatever a
// symlink in it points to) cannot make it read without end. kubectl has no
// such bound; no real manifest comes near the defaults.
type Limits struct {
	// FileBytes caps one file, and standard input. Default: DefaultFileBytes.
	FileBytes int64
	// TotalBytes caps all of them together. Default: DefaultTotalBytes.
	TotalBytes int64
}

// The default Limits.
const (
	DefaultFileBytes  = 16 << 20
	DefaultTotalBytes = 128 << 20
)

// LimitError is a read past one of the Limits: the input is refused, never
// read in part.
type LimitError struct {
	// Name is the file (or StdinName) that went past the cap.
	Name string
	// Limit is the cap, in bytes.
	Limit int64
	// Total is true when the cap passed is Limits.TotalBytes.
	Total bool
}

func (e *LimitError) Error() string {
	if e.Total {
		return fmt.Sprintf("%s: the manifests read pass the %d-byte cap on all of them together", e.Name, e.Limit)
	}
	return fmt.Sprintf("%s: larger than the %d-byte cap on one file", e.Name, e.Limit)
}

// NotRegularError refuses a path that is not a regular file (a device, a
// FIFO, a socket) before it is read.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: not a regular file (%s)", e.Path, e.Mode.Type())
}

// ErrStdinTwice refuses a second Stdin among the paths: its content is gone.
var ErrStdinTwice = errors.New("standard input can be read only once")

// reader reads manifests within its limits, counting what it read.
type reader struct {
	limits Limits
	read   int64
}

// Read reads and decodes every path: a file, a directory (its .yaml, .yml
// and .json files, recursively, in lexical order) or Stdin. It returns the
// pod-bearing objects, each with the namespace kubectl would apply it to,
// and how many objects it read, those without a pod included. Any file that
// cannot be read or decoded is an error.
func Read(paths []string, stdin io.Reader, limits Limits) (out []Manifest, read int, err error) {
	out, read, skipped, err := ReadEach(paths, stdin, limits)
	if err == nil && len(skipped) > 0 {
		return nil, 0, skipped[0]
	}
	return out, read, err
}

// FileError is a file ReadEach read but could not decode; the message
// names the file (and the document and line).
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// ReadEach is Read reading on past a file it cannot decode, so that one
// broken manifest does not hide the findings of the others: each such file
// is in skipped. A path that cannot be read, or a read past the Limits,
// still ends the reading with err.
func ReadEach(paths []string, stdin io.Reader, limits Limits) (out []Manifest, read int, skipped []*FileError, err error) {
	if limits.FileBytes <= 0 {
		limits.FileBytes = DefaultFileBytes
	}
	if limits.TotalBytes <= 0 {
		limits.TotalBytes = DefaultTotalBytes
	}
	r := &reader{limits: limits}
	decode := func(name string, data []byte) {
		ms, n, err := decodeFile(name, data)
		if err != nil {
			skipped = append(skipped, &FileError{File: name, Err: err})
			return
		}
		out, read = append(out, ms...), read+n
	}
	readStdin := false
	for _, path := range paths {
		if path == Stdin {
			if readStdin {
				return nil, 0, nil, ErrStdinTwice
			}
			readStdin = true
			data, err := r.readCapped(StdinName, stdin)
			if err != nil {
				return nil, 0, nil, err
			}
			decode(StdinName, data)
			continue
		}
		files, err := filesOf(path)
		if err != nil {
			return nil, 0, nil, err
		}
		for _, file := range files {
			data, err := r.readFile(file)
			if err != nil {
				return nil, 0, nil, err
			}
			decode(file, data)
		}
	}
	return out, read, skipped, nil
}

// readFile reads a regular file, following symlinks to one. Anything else
// is refused before it is read: a device never ends (/dev/zero), and a FIFO
// blocks its reader until a writer comes, which may be never.
func (r *reader) readFile(file string) ([]byte, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, readError(file, err)
	}
	if err := regularFile(file, info); err != nil {
		return nil, err
	}
	// Non-blocking, and checked again once open, in case the file was
	// replaced by a FIFO since it was looked at.
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, readError(file, err)
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, readError(file, err)
	}
	if err := regularFile(file, info); err != nil {
		return nil, err
	}
	return r.readCapped(file, f)
}

func regularFile(file string, info fs.FileInfo) error {
	if info.Mode().IsRegular() {
		return nil
	}
	return &NotRegularError{Path: file, Mode: info.Mode()}
}

// readCapped reads src, named name, within the caps left: more is an error,
// never a truncated read.
func (r *reader) readCapped(name string, src io.Reader) ([]byte, error) {
	limit, byTotal := r.limits.FileBytes, false
	if left := r.limits.TotalBytes - r.read; left < limit {
		limit, byTotal = left, true
	}
	data, err := io.ReadAll(io.LimitReader(src, limit+1))
	if err != nil {
		return nil, readError(name, err)
	}
	if int64(len(data)) > limit {
		if byTotal {
			return nil, &LimitError{Name: name, Limit: r.limits.TotalBytes, Total: true}
		}
		return nil, &LimitError{Name: name, Limit: r.limits.FileBytes}
	}
	r.read += int64(len(data))
	return data, nil
}

// filesOf returns path itself if it is a file, or the manifests under it,
// in lexical order, if it is a directory.
func filesOf(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, readError(path, err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return readError(p, err)
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, p) // readFile refuses what is not a regular file
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .yaml, .yml or .json files in it", path)
	}
	return files, nil
}

// readError names the path once: os errors name it already.
func readError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("reading %s: %w", path, err)
}
