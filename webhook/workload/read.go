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
	return jsonread.List(d, list, func() (c container, err error) {
		err = jsonread.Object(d, fields, func(field int) error {
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
		return c, err
	})
}

// readSecurity reads a pod's or a container's security context.
func readSecurity(d *jsontext.Decoder, sc **securityFields) error {
	return jsonread.Pointer(d, sc, func(f *securityFields) error {
		return jsonread.Object(d, securityFieldNames, func(field int) error {
			switch field {
			case 0:
				return jsonread.Int64(d, &f.RunAsUser)
			case 1:
				return jsonread.Int64(d, &f.RunAsGroup)
			case 2:
				return jsonread.Bool(d, &f.RunAsNonRoot)
			}
			return jsonread.Pointer(d, &f.WindowsOptions, func(w *windowsOptions) error {
				return jsonread.Object(d, windowsFields, func(int) error {
					return jsonread.StringPointer(d, &w.RunAsUserName)
				})
			})
		})
	})
}

// readPullSecrets reads imagePullSecrets; a null entry is a zero one.
func readPullSecrets(d *jsontext.Decoder, list *[]localObjectRef) error {
	return jsonread.List(d, list, func() (ref localObjectRef, err error) {
		err = jsonread.Object(d, nameField, func(int) error { return jsonread.String(d, &ref.Name) })
		return ref, err
	})
}
