package images

import (
	"fmt"
	"strings"
)

// maxID is the largest uid or gid Kubernetes accepts for runAsUser/runAsGroup.
const maxID = 1<<31 - 1

// User is the USER of an image config, parsed once so that policies compare
// numbers rather than spellings. A nil UID means the uid is not known from
// the image alone (a name other than root); Invalid says why a value could
// not be parsed, and then nothing else is guessed.
type User struct {
	Raw     string `json:"raw"`
	UID     *int64 `json:"uid"`
	GID     *int64 `json:"gid"`
	Name    string `json:"name,omitempty"`
	Group   string `json:"group,omitempty"`
	Invalid string `json:"invalid,omitempty"`
}

// IsRoot reports a user that runs as uid 0.
func (u User) IsRoot() bool { return u.UID != nil && *u.UID == 0 }

// ParseUser reads a config USER the way the runtimes do: "" runs as root,
// "root" is uid 0, digits (with leading zeros or "+") are a uid, other names
// have no uid that can be known without the image's /etc/passwd; an optional
// ":group" part follows the same rules for the gid.
func ParseUser(raw string) User {
	u := User{Raw: raw}
	if raw == "" {
		u.UID = ptr(0)
		u.Name = "root"
		return u
	}
	userPart, groupPart, hasGroup := strings.Cut(raw, ":")
	uid, uname, err := parseID(userPart)
	if err != nil {
		return User{Raw: raw, Invalid: fmt.Sprintf("user %q: %v", userPart, err)}
	}
	u.UID, u.Name = uid, uname
	if hasGroup {
		gid, gname, err := parseID(groupPart)
		if err != nil {
			return User{Raw: raw, Invalid: fmt.Sprintf("group %q: %v", groupPart, err)}
		}
		u.GID, u.Group = gid, gname
	}
	return u
}

// parseID reads one side of USER: a number, or a name. "root" is the one name
// whose id is the same on every system.
func parseID(s string) (*int64, string, error) {
	if s == "" {
		return nil, "", fmt.Errorf("is empty")
	}
	if s == "root" {
		return ptr(0), "root", nil
	}
	digits := strings.TrimPrefix(s, "+")
	if digits != "" && isDigits(digits) {
		var n int64
		for i := 0; i < len(digits); i++ {
			n = n*10 + int64(digits[i]-'0')
			if n > maxID {
				return nil, "", fmt.Errorf("is out of range (0 to %d)", maxID)
			}
		}
		return ptr(n), "", nil
	}
	if !isUserName(s) {
		return nil, "", fmt.Errorf("is neither a number nor a valid user name")
	}
	return nil, s, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isUserName accepts the names useradd and busybox adduser accept: a letter
// or underscore, then letters, digits, '.', '_' or '-', an optional final '$'.
func isUserName(s string) bool {
	if len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z'):
		case i > 0 && (('0' <= c && c <= '9') || c == '.' || c == '-'):
		case i > 0 && i == len(s)-1 && c == '$':
		default:
			return false
		}
	}
	return true
}

func ptr(n int64) *int64 { return &n }
