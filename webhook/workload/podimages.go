package workload

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
)

// DecodePodImages reads raw, a Pod as the API server sends it, for what
// pinning its images needs and nothing else: the name and namespace, the
// service account and pull secrets (whose credentials resolve the images),
// and each container's name, image and restart policy, in Decode's order.
// Labels, annotations, security contexts and the OS are left zero: the
// Workload is for pinning, never for policies.
//
// It is the pin's side of the cost of a call (BenchmarkPin in webhook): one
// pass over the object, skipping every other field without decoding it —
// managedFields, volumes, probes and status are most of what the API server
// sends — where Decode validates the whole object, then decodes it.
// Where Decode reads a field, DecodePodImages agrees with it
// (FuzzDecodePodImagesAgreesWithDecode); it is stricter about what the API
// server never sends, and refuses it: a field it reads written twice in one
// object (encoding/json would merge the two), invalid UTF-8.
func DecodePodImages(raw []byte) (*Workload, error) {
	if err := checkObject(raw); err != nil {
		return nil, fmt.Errorf("decoding Pod: %w", err)
	}
	// Duplicate names are refused for the fields read (once), not tracked
	// for every object: that tracking was most of the decoder's allocations.
	d := jsontext.NewDecoder(bytes.NewBuffer(raw), jsontext.AllowDuplicateNames(true))
	w := &Workload{Kind: "Pod"}
	var (
		spec           podSpec
		specSeen       bool
		serviceAccount string
	)
	err := readObject(d, topFields, func(field int) error {
		switch field {
		case 0: // metadata
			return readObject(d, metadataFields, func(field int) error {
				if field == 0 {
					return readString(d, &w.Name)
				}
				return readString(d, &w.Namespace)
			})
		}
		specSeen = d.PeekKind() == '{'
		return readObject(d, specFields, func(field int) error {
			switch field {
			case 0:
				return readContainers(d, &spec.InitContainers)
			case 1:
				return readContainers(d, &spec.Containers)
			case 2:
				return readContainers(d, &spec.EphemeralContainers)
			case 3:
				return readString(d, &spec.ServiceAccountName)
			case 4:
				return readString(d, &serviceAccount)
			}
			return readArray(d, func() error {
				var ref localObjectRef
				err := readObject(d, nameField, func(int) error { return readString(d, &ref.Name) })
				spec.ImagePullSecrets = append(spec.ImagePullSecrets, ref)
				return err
			})
		})
	})
	if err == nil {
		if _, err = d.ReadToken(); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("data after the object")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("decoding Pod: %w", err)
	}
	if !specSeen {
		return nil, noPodTemplate(w.Kind, w.Name)
	}
	spec.ServiceAccount = serviceAccount
	w.ServiceAccountName = spec.serviceAccountName()
	w.ImagePullSecrets = spec.imagePullSecrets()
	w.Containers = spec.containers()
	return w, nil
}

// The fields read, by object; readObject passes their index.
var (
	topFields       = []string{"metadata", "spec"}
	metadataFields  = []string{"name", "namespace"}
	specFields      = []string{"initContainers", "containers", "ephemeralContainers", "serviceAccountName", "serviceAccount", "imagePullSecrets"}
	containerFields = []string{"name", "image", "restartPolicy"}
	nameField       = []string{"name"}
)

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

// readContainers reads a container list: each container's name, image and
// restart policy. A null container is a zero one, as Decode reads it.
func readContainers(d *jsontext.Decoder, list *[]container) error {
	return readArray(d, func() error {
		var c container
		err := readObject(d, containerFields, func(field int) error {
			switch field {
			case 0:
				return readString(d, &c.Name)
			case 1:
				return readString(d, &c.Image)
			}
			return readString(d, &c.RestartPolicy)
		})
		*list = append(*list, c)
		return err
	})
}
