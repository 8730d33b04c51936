package workload

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

// The readers below decode JSON in one pass, as the API server sends it:
// every member not named is skipped unread, and where encoding/json would
// merge a field written twice in one object, they refuse it (the API server
// never writes one twice). Each treats null as encoding/json does: a
// pointer, map or list becomes nil, a string or struct stays as it was.

// decoders are reused: a decoder's state, its stack of objects and arrays,
// is most of what a fresh one allocates, and one is needed per admission.
var decoders = sync.Pool{New: func() any { return new(pooledDecoder) }}

type pooledDecoder struct {
	src bytes.Buffer
	d   jsontext.Decoder
}

// decode runs read on a decoder over raw (read from where it lies, not
// copied), then refuses anything after the value read.
func decode(raw []byte, read func(d *jsontext.Decoder) error) error {
	p := decoders.Get().(*pooledDecoder)
	p.src = *bytes.NewBuffer(raw)
	p.d.Reset(&p.src, jsontext.AllowDuplicateNames(true))
	err := read(&p.d)
	if err == nil {
		err = readEnd(&p.d)
	}
	// The pool must not keep the request's bytes alive.
	p.src = bytes.Buffer{}
	p.d.Reset(&p.src)
	decoders.Put(p)
	return err
}

// readObject reads a JSON object, calling read with the index in fields of
// each member it names, with the decoder before the value, which read must
// read; every other member is skipped unread. A member of fields may appear
// only once. null is no object.
func readObject(d *jsontext.Decoder, fields []string, read func(field int) error) error {
	if ok, err := open(d, '{', "an object"); !ok {
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
			if err := d.SkipValue(); err != nil {
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

// readArray reads a JSON array, calling elem for each element, which elem
// must read. null is no array.
func readArray(d *jsontext.Decoder, elem func() error) error {
	if ok, err := open(d, '[', "an array"); !ok {
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

// open reads the token that opens an object or an array (kind '{' or '['):
// false without an error for null, which is neither.
func open(d *jsontext.Decoder, kind jsontext.Kind, what string) (bool, error) {
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

// readString reads a JSON string into s; null leaves s as it is.
func readString(d *jsontext.Decoder, s *string) error {
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '"':
		*s = tok.String()
		return nil
	}
	return fmt.Errorf("%s: want a string, found %s", d.StackPointer(), tok.Kind())
}

// readContainers reads a container list into *list, reading of each
// container the members of fields (a members.container list). An empty list is an empty, non-nil slice and a null
// container a zero one, as encoding/json reads them: a custom resource's
// template counts as a pod template when it lists containers, even none.
func readContainers(d *jsontext.Decoder, list *[]container, fields []string) error {
	if d.PeekKind() == '[' {
		*list = make([]container, 0, 4)
	}
	return readArray(d, func() error {
		var c container
		err := readObject(d, fields, func(field int) error {
			switch field {
			case 0:
				return readString(d, &c.Name)
			case 1:
				return readString(d, &c.Image)
			case 2:
				return readString(d, &c.RestartPolicy)
			}
			return readSecurity(d, &c.SecurityContext)
		})
		*list = append(*list, c)
		return err
	})
}

// readSecurity reads a pod's or a container's security context.
func readSecurity(d *jsontext.Decoder, sc **securityFields) error {
	if d.PeekKind() == 'n' {
		*sc = nil
		return d.SkipValue()
	}
	f := &securityFields{}
	*sc = f
	return readObject(d, securityFieldNames, func(field int) error {
		switch field {
		case 0:
			return readInt64(d, &f.RunAsUser)
		case 1:
			return readInt64(d, &f.RunAsGroup)
		case 2:
			return readBool(d, &f.RunAsNonRoot)
		}
		if d.PeekKind() == 'n' {
			f.WindowsOptions = nil
			return d.SkipValue()
		}
		f.WindowsOptions = &windowsOptions{}
		return readObject(d, windowsFields, func(int) error {
			return readStringPointer(d, &f.WindowsOptions.RunAsUserName)
		})
	})
}

// readInt64 reads a whole number of 64 bits, as encoding/json does into an
// int64: 1.0, 1e3 and what overflows are refused.
func readInt64(d *jsontext.Decoder, p **int64) error {
	return readNullable(d, p, "a whole number of 64 bits", func(v jsontext.Value) (int64, bool) {
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, v.Kind() == '0' && err == nil
	})
}

func readBool(d *jsontext.Decoder, p **bool) error {
	return readNullable(d, p, "true or false", func(v jsontext.Value) (bool, bool) {
		return v.Kind() == 't', v.Kind() == 't' || v.Kind() == 'f'
	})
}

// readNullable reads a value into *p with parse, which says whether the
// value is one it takes; null makes *p nil.
func readNullable[T any](d *jsontext.Decoder, p **T, want string, parse func(jsontext.Value) (T, bool)) error {
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

func readStringPointer(d *jsontext.Decoder, p **string) error {
	if d.PeekKind() == 'n' {
		*p = nil
		return d.SkipValue()
	}
	var s string
	*p = &s
	return readString(d, &s)
}

// readStringMap reads labels or annotations. A name written twice keeps
// its last value, as encoding/json does: both are the same map entry.
func readStringMap(d *jsontext.Decoder, m *map[string]string) error {
	if d.PeekKind() == 'n' {
		*m = nil
		return d.SkipValue()
	}
	if ok, err := open(d, '{', "an object"); !ok {
		return err
	}
	if *m == nil {
		*m = map[string]string{}
	}
	for d.PeekKind() != '}' {
		var name, value string
		if err := readString(d, &name); err != nil {
			return err
		}
		if err := readStringValue(d, &value); err != nil {
			return err
		}
		(*m)[name] = value
	}
	_, err := d.ReadToken()
	return err
}

// readStringValue is readString for a map value: null is "" there.
func readStringValue(d *jsontext.Decoder, s *string) error {
	*s = ""
	return readString(d, s)
}

// readPullSecrets reads imagePullSecrets; a null entry is a zero one.
func readPullSecrets(d *jsontext.Decoder, list *[]localObjectRef) error {
	if d.PeekKind() == '[' {
		*list = []localObjectRef{}
	}
	return readArray(d, func() error {
		var ref localObjectRef
		err := readObject(d, nameField, func(int) error { return readString(d, &ref.Name) })
		*list = append(*list, ref)
		return err
	})
}

// readEnd refuses anything after the object, as encoding/json does.
func readEnd(d *jsontext.Decoder) error {
	_, err := d.ReadToken()
	switch {
	case err == io.EOF:
		return nil
	case err == nil:
		return errors.New("data after the object")
	}
	return err
}
