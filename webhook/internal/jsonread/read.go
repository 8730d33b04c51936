// Package jsonread reads JSON in one pass, as the API server sends it, for
// the AdmissionReview envelope and the workload inside it: every member not
// named is skipped unread, and where encoding/json would merge a field
// written twice in one object, its readers refuse it (the API server never
// writes one twice). Each treats null as encoding/json does: a pointer, map
// or list becomes nil, a string or struct stays as it was.
package jsonread

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// decoders are reused: a decoder's state, its stack of objects and arrays,
// is most of what a fresh one allocates, and one is needed per admission.
var decoders = sync.Pool{New: func() any { return new(pooledDecoder) }}

type pooledDecoder struct {
	src bytes.Buffer
	d   jsontext.Decoder
}

// Decode runs read on a decoder over raw (read from where it lies, not
// copied), then refuses anything after the value read.
func Decode(raw []byte, read func(d *jsontext.Decoder) error) error {
	p := decoders.Get().(*pooledDecoder)
	p.src = *bytes.NewBuffer(raw)
	p.d.Reset(&p.src, jsontext.AllowDuplicateNames(true))
	err := read(&p.d)
	if err == nil {
		err = End(&p.d)
	}
	// The pool must not keep the request's bytes alive.
	p.src = bytes.Buffer{}
	p.d.Reset(&p.src)
	decoders.Put(p)
	return err
}

// Skip reads past the next value. jsontext's SkipValue walks an object or
// an array token by token; ReadValue consumes it in one loop, with the same
// checks, in about two thirds of the time on a pod's review.
func Skip(d *jsontext.Decoder) error {
	_, err := d.ReadValue()
	return err
}

// Object reads a JSON object, calling read with the index in fields of
// each member it names, with the decoder before the value, which read must
// read; every other member is skipped unread. A member of fields may appear
// only once. null is no object.
func Object(d *jsontext.Decoder, fields []string, read func(field int) error) error {
	if ok, err := Open(d, '{', "an object"); !ok {
		return err
	}
	var seen uint64
	for d.PeekKind() != '}' {
		quoted, err := d.ReadValue()
		if err != nil {
			return err
		}
		name := quoted[1 : len(quoted)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			if name, err = jsontext.AppendUnquote(nil, quoted); err != nil {
				return err
			}
		}
		field := slices.Index(fields, string(name))
		if field < 0 {
			if err := Skip(d); err != nil {
				return err
			}
			continue
		}
		if seen&(1<<field) != 0 {
			return fmt.Errorf("%s: %q appears twice", d.StackPointer(), fields[field])
		}
		seen |= 1 << field
		if err := read(field); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// Array reads a JSON array, calling elem for each element, which elem
// must read. null is no array.
func Array(d *jsontext.Decoder, elem func() error) error {
	if ok, err := Open(d, '[', "an array"); !ok {
		return err
	}
	for d.PeekKind() != ']' {
		if err := elem(); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// Open reads the token that opens an object or an array (kind '{' or '['):
// false without an error for null, which is neither.
func Open(d *jsontext.Decoder, kind jsontext.Kind, what string) (bool, error) {
	tok, err := d.ReadToken()
	switch {
	case err != nil:
		return false, err
	case tok.Kind() == kind:
		return true, nil
	case tok.Kind() == 'n':
		return false, nil
	}
	return false, fmt.Errorf("%s: want %s, found %s", d.StackPointer(), what, tok.Kind())
}

// String reads a JSON string into s; null leaves s as it is. A string of
// wellKnown is not allocated again; any other is, once.
func String(d *jsontext.Decoder, s *string) error {
	if d.PeekKind() == '"' {
		v, err := d.ReadValue()
		if err != nil {
			return err
		}
		if len(v) <= maxWellKnownBytes {
			if known, ok := wellKnown[string(v)]; ok {
				*s = known
				return nil
			}
		}
		if !bytes.ContainsRune(v, '\\') {
			*s = string(v[1 : len(v)-1])
			return nil
		}
		u, err := jsontext.AppendUnquote(nil, v)
		*s = string(u)
		return err
	}
	tok, err := d.ReadToken()
	if err != nil || tok.Kind() == 'n' {
		return err
	}
	return fmt.Errorf("%s: want a string, found %s", d.StackPointer(), tok.Kind())
}

// wellKnown holds strings that most reviews repeat (the review's apiVersion
// and kind, the groups, versions, kinds and resources of pods and their
// controllers, the operations, the groups of every service account, the
// restart policies), each keyed by its JSON, quotes included, which no
// escaped spelling matches: a review of a pod holds a dozen of them.
var wellKnown = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"admission.k8s.io/v1", "admission.k8s.io/v1beta1", "AdmissionReview", "meta.k8s.io/v1",
		"CreateOptions", "UpdateOptions", "CREATE", "UPDATE", "DELETE", "CONNECT",
		"v1", "apps", "batch", "Pod", "pods", "ephemeralcontainers",
		"Deployment", "deployments", "ReplicaSet", "replicasets", "StatefulSet", "statefulsets",
		"DaemonSet", "daemonsets", "Job", "jobs", "CronJob", "cronjobs",
		"system:authenticated", "system:serviceaccounts", "system:masters", "system:nodes",
		"Always", "IfNotPresent", "Never", "OnFailure",
	} {
		m[strconv.Quote(s)] = s
	}
	return m
}()

// maxWellKnownBytes is the length of the longest key of wellKnown
// (TestWellKnownStringsAreReadAsWritten checks it).
const maxWellKnownBytes = len(`"admission.k8s.io/v1beta1"`)

// Int64 reads a whole number of 64 bits, as encoding/json does into an
// int64: 1.0, 1e3 and what overflows are refused.
func Int64(d *jsontext.Decoder, p **int64) error {
	return Nullable(d, p, "a whole number of 64 bits", func(v jsontext.Value) (int64, bool) {
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, v.Kind() == '0' && err == nil
	})
}

func Bool(d *jsontext.Decoder, p **bool) error {
	return Nullable(d, p, "true or false", func(v jsontext.Value) (bool, bool) {
		return v.Kind() == 't', v.Kind() == 't' || v.Kind() == 'f'
	})
}

// Nullable reads a value into *p with parse, which says whether the
// value is one it takes; null makes *p nil.
func Nullable[T any](d *jsontext.Decoder, p **T, want string, parse func(jsontext.Value) (T, bool)) error {
	v, err := d.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() == 'n' {
		*p = nil
		return nil
	}
	x, ok := parse(v)
	if !ok {
		found := v.Kind().String()
		if v.Kind() == '0' && len(v) <= 32 {
			found = string(v)
		}
		return fmt.Errorf("%s: want %s, found %s", d.StackPointer(), want, found)
	}
	*p = &x
	return nil
}

func StringPointer(d *jsontext.Decoder, p **string) error {
	return Pointer(d, p, func(s *string) error { return String(d, s) })
}

// Pointer reads the next value into a new *p with read; null makes *p nil.
func Pointer[T any](d *jsontext.Decoder, p **T, read func(v *T) error) error {
	if d.PeekKind() == 'n' {
		*p = nil
		return Skip(d)
	}
	*p = new(T)
	return read(*p)
}

// List reads a JSON array into *list, each element read by elem, as
// encoding/json reads a slice: an empty array is an empty, non-nil slice,
// null makes *list nil. elem returns what it read, even with an error (it
// is not kept then), so that no element escapes to the heap on its own.
func List[T any](d *jsontext.Decoder, list *[]T, elem func() (T, error)) error {
	if d.PeekKind() == 'n' {
		*list = nil
		return Skip(d)
	}
	// Room for a pod's few containers without growing.
	*list = make([]T, 0, 4)
	return Array(d, func() error {
		v, err := elem()
		*list = append(*list, v)
		return err
	})
}

// Map reads a JSON object of any names into *m, each value read by value.
// A name written twice keeps its last value, as encoding/json does: both
// are the same map entry. null makes *m nil.
func Map[V any](d *jsontext.Decoder, m *map[string]V, value func() (V, error)) error {
	if d.PeekKind() == 'n' {
		*m = nil
		return Skip(d)
	}
	if ok, err := Open(d, '{', "an object"); !ok {
		return err
	}
	if *m == nil {
		*m = map[string]V{}
	}
	for d.PeekKind() != '}' {
		var name string
		if err := String(d, &name); err != nil {
			return err
		}
		v, err := value()
		if err != nil {
			return err
		}
		(*m)[name] = v
	}
	_, err := d.ReadToken()
	return err
}

// StringMap reads labels or annotations.
func StringMap(d *jsontext.Decoder, m *map[string]string) error {
	return Map(d, m, func() (string, error) {
		var v string
		err := StringValue(d, &v)
		return v, err
	})
}

// StringValue is String for a map value: null is "" there.
func StringValue(d *jsontext.Decoder, s *string) error {
	*s = ""
	return String(d, s)
}

// End refuses anything after the object, as encoding/json does.
func End(d *jsontext.Decoder) error {
	_, err := d.ReadToken()
	switch {
	case err == io.EOF:
		return nil
	case err == nil:
		return errors.New("data after the object")
	}
	return err
}
