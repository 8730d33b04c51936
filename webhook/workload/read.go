package workload

import (
	"github.com/go-json-experiment/json/jsontext"

	"github.com/strata-project/strata/webhook/internal/jsonread"
)

// readContainers reads a container list into *list, reading of each
// container the members of fields (a members.container list). An empty list is an empty, non-nil slice and a null
// container a zero one, as encoding/json reads them: a custom resource's
// template counts as a pod template when it lists containers, even none.
func readContainers(d *jsontext.Decoder, list *[]container, fields []string) error {
	if d.PeekKind() == '[' {
		*list = make([]container, 0, 4)
	}
	return jsonread.Array(d, func() error {
		var c container
		err := jsonread.Object(d, fields, func(field int) error {
			switch field {
			case 0:
				return jsonread.String(d, &c.Name)
			case 1:
				return jsonread.String(d, &c.Image)
			case 2:
				return jsonread.String(d, &c.RestartPolicy)
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
		return jsonread.Skip(d)
	}
	f := &securityFields{}
	*sc = f
	return jsonread.Object(d, securityFieldNames, func(field int) error {
		switch field {
		case 0:
			return jsonread.Int64(d, &f.RunAsUser)
		case 1:
			return jsonread.Int64(d, &f.RunAsGroup)
		case 2:
			return jsonread.Bool(d, &f.RunAsNonRoot)
		}
		if d.PeekKind() == 'n' {
			f.WindowsOptions = nil
			return jsonread.Skip(d)
		}
		f.WindowsOptions = &windowsOptions{}
		return jsonread.Object(d, windowsFields, func(int) error {
			return jsonread.StringPointer(d, &f.WindowsOptions.RunAsUserName)
		})
	})
}

// readPullSecrets reads imagePullSecrets; a null entry is a zero one.
func readPullSecrets(d *jsontext.Decoder, list *[]localObjectRef) error {
	if d.PeekKind() == '[' {
		*list = []localObjectRef{}
	}
	return jsonread.Array(d, func() error {
		var ref localObjectRef
		err := jsonread.Object(d, nameField, func(int) error { return jsonread.String(d, &ref.Name) })
		*list = append(*list, ref)
		return err
	})
}
