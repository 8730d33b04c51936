package images

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseUser(t *testing.T) {
	t.Parallel()
	type want struct {
		uid, gid      string // "" unknown, else the number
		name, group   string
		invalid, root bool
	}
	for _, tc := range []struct {
		in   string
		want want
	}{
		{"", want{uid: "0", name: "root", root: true}},
		{"root", want{uid: "0", name: "root", root: true}},
		{"0", want{uid: "0", root: true}},
		{"00", want{uid: "0", root: true}},
		{"+0", want{uid: "0", root: true}},
		{"0:0", want{uid: "0", gid: "0", root: true}},
		{"0:1000", want{uid: "0", gid: "1000", root: true}},
		{"root:root", want{uid: "0", gid: "0", name: "root", group: "root", root: true}},
		{"1000:0", want{uid: "1000", gid: "0"}},
		{"1000", want{uid: "1000"}},
		{"65532:65532", want{uid: "65532", gid: "65532"}},
		{"app", want{name: "app"}},
		{"app:app", want{name: "app", group: "app"}},
		{"www-data", want{name: "www-data"}},
		{"nobody:1000", want{name: "nobody", gid: "1000"}},
		{"2147483647", want{uid: "2147483647"}},
		{"2147483648", want{invalid: true}},
		{"99999999999999999999999", want{invalid: true}},
		{"-1", want{invalid: true}},
		{"+", want{invalid: true}},
		{"1000:", want{invalid: true}},
		{":1000", want{invalid: true}},
		{"a b", want{invalid: true}},
		{"1000:1000:1000", want{invalid: true}},
		{"1:2:3", want{invalid: true}},
		{"0x10", want{name: "0x10", invalid: true}},
	} {
		got := ParseUser(tc.in)
		if got.Raw != tc.in {
			t.Errorf("ParseUser(%q).Raw = %q, want the input", tc.in, got.Raw)
		}
		if (got.Invalid != "") != tc.want.invalid {
			t.Errorf("ParseUser(%q).Invalid = %q, want invalid=%v", tc.in, got.Invalid, tc.want.invalid)
			continue
		}
		if tc.want.invalid {
			if got.UID != nil || got.GID != nil || got.Name != "" {
				t.Errorf("ParseUser(%q) = %+v: an invalid user must not carry guessed ids", tc.in, got)
			}
			continue
		}
		if s := idString(got.UID); s != tc.want.uid {
			t.Errorf("ParseUser(%q).UID = %s, want %q", tc.in, s, tc.want.uid)
		}
		if s := idString(got.GID); s != tc.want.gid {
			t.Errorf("ParseUser(%q).GID = %s, want %q", tc.in, s, tc.want.gid)
		}
		if got.Name != tc.want.name || got.Group != tc.want.group {
			t.Errorf("ParseUser(%q) name/group = %q/%q, want %q/%q", tc.in, got.Name, got.Group, tc.want.name, tc.want.group)
		}
		if got.IsRoot() != tc.want.root {
			t.Errorf("ParseUser(%q).IsRoot() = %v, want %v", tc.in, got.IsRoot(), tc.want.root)
		}
	}
}

func idString(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}

func FuzzParseUser(f *testing.F) {
	for _, s := range []string{"", "root", "0", "00", "+0", "0:0", "1000:0", "app", "app:grp", "-1", "4294967296", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u := ParseUser(in)
		if u.Raw != in {
			t.Fatalf("ParseUser(%q).Raw = %q", in, u.Raw)
		}
		if u.Invalid != "" {
			if u.UID != nil || u.GID != nil {
				t.Fatalf("ParseUser(%q) is invalid (%s) but carries ids %+v", in, u.Invalid, u)
			}
			return
		}
		if u.UID != nil && (*u.UID < 0 || *u.UID > maxID) {
			t.Fatalf("ParseUser(%q).UID = %d, out of range", in, *u.UID)
		}
		if u.UID == nil && u.Name == "" {
			t.Fatalf("ParseUser(%q) = %+v: a valid user has a uid or a name", in, u)
		}
		// A valid user's uid never depends on its group part.
		userPart, _, _ := strings.Cut(in, ":")
		if alone := ParseUser(userPart); idString(alone.UID) != idString(u.UID) {
			t.Fatalf("ParseUser(%q).UID = %s but ParseUser(%q).UID = %s", in, idString(u.UID), userPart, idString(alone.UID))
		}
	})
}
