package policy

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"sigs.k8s.io/yaml"
)

// policyRoot is the package prefix under which policies are found.
const policyRoot = "strata.policies"

// Meta describes one policy, from its # METADATA block.
type Meta struct {
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Action is the policy's default action, or the configured override.
	Action Action `json:"action"`
	// Source is the file the policy was read from.
	Source string `json:"source"`
	// Requires are the data.strata.config keys without which the policy
	// has nothing to check against (METADATA custom.requires).
	Requires []string `json:"requires,omitempty"`
	// Inactive says why a policy that is not off can report nothing: a key
	// it requires is missing or empty. "" when it is active.
	Inactive string `json:"inactive,omitempty"`
}

// sources is everything a policy set is compiled from.
type sources struct {
	modules map[string]*ast.Module // by file name
	data    map[string]any         // merged data files, under data.strata.config
	// fingerprint identifies the user files' contents, to notice changes.
	fingerprint [32]byte
}

// parseOptions read Rego v1 with annotations.
var parseOptions = ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1}

// files says which user files to read and what they may cost.
type files struct {
	paths []string
	// maxFile and maxTotal bound the bytes of one file and of all of them.
	maxFile, maxTotal int64
	// onRead, when set, is told of every file read (tests count reads).
	onRead func(path string)
}

// loadSources reads the built-in policies from builtins and the user's
// .rego and data (.json, .yaml) files from fs. Test files are skipped:
// they are run by `go test` and `opa test`, not served.
func loadSources(builtins fs.FS, user files) (*sources, error) {
	src := &sources{modules: map[string]*ast.Module{}, data: map[string]any{}}
	var errs []error
	if builtins != nil {
		err := fs.WalkDir(builtins, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !isPolicyFile(p) {
				return err
			}
			raw, err := fs.ReadFile(builtins, p)
			if err != nil {
				return err
			}
			return src.addModule("builtin/"+p, raw)
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	read, fingerprint, err := user.read()
	src.fingerprint = fingerprint
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range read {
		switch {
		case isPolicyFile(f.path):
			err = src.addModule(f.path, f.raw)
		case isDataFile(f.path):
			err = src.addData(f.path, f.raw)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return src, errors.Join(errs...)
}

type userFile struct {
	path string
	raw  []byte
}

// read reads the files under the paths and hashes their names and
// contents, so that a change, even one that breaks a file, is noticed once.
// A directory without a .rego file is an error: it is a ConfigMap not yet
// populated or a wrong path, and loading nothing from it would report
// "policies ok" while enforcing none of them.
func (u files) read() ([]userFile, [32]byte, error) {
	var out []userFile
	var errs []error
	var total int64
	h := sha256.New()
	for _, root := range u.paths {
		list, err := listFiles(root)
		if err != nil {
			errs = append(errs, err)
			fmt.Fprintf(h, "%s\x00missing\x00", root)
			continue
		}
		if len(list) == 0 || (list[0] != root && !slices.ContainsFunc(list, isPolicyFile)) {
			errs = append(errs, fmt.Errorf("policy path %s holds no .rego files (is the ConfigMap or checkout mounted there?)", root))
		}
		for _, p := range list {
			raw, err := u.readFile(p)
			if err != nil {
				errs = append(errs, err)
				fmt.Fprintf(h, "%s\x00unreadable\x00", p)
				continue
			}
			total += int64(len(raw))
			if total > u.maxTotal {
				errs = append(errs, fmt.Errorf("policy files: %s brings the total past the limit of %d bytes; keep large data out of policies.paths", p, u.maxTotal))
				return out, [32]byte{}, errors.Join(errs...)
			}
			fmt.Fprintf(h, "%s\x00%d\x00", p, len(raw))
			h.Write(raw)
			out = append(out, userFile{path: p, raw: raw})
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return out, sum, errors.Join(errs...)
}

// readFile reads one regular file of at most maxFile bytes. A FIFO or a
// device named *.rego is refused unopened for reading: it would block or
// never end.
func (u files) readFile(p string) ([]byte, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("reading policy file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("policy file %s is not a regular file (%s)", p, info.Mode().Type())
	}
	if info.Size() > u.maxFile {
		return nil, fmt.Errorf("policy file %s is %d bytes, over the limit of %d bytes", p, info.Size(), u.maxFile)
	}
	if u.onRead != nil {
		u.onRead(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading policy file: %w", err)
	}
	defer f.Close()
	// The file may grow between Stat and Read: read one byte past the cap.
	raw, err := io.ReadAll(io.LimitReader(f, u.maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy file: %w", err)
	}
	if int64(len(raw)) > u.maxFile {
		return nil, fmt.Errorf("policy file %s is over the limit of %d bytes", p, u.maxFile)
	}
	return raw, nil
}

// listFiles returns the policy and data files at root (a file or a
// directory, walked recursively), sorted so that loading is reproducible.
// A root that is a symlink to a directory (git-sync, hand-made links) is
// followed; the files keep their names under root, so that messages and
// policy sources name the configured path whatever it points to today.
func listFiles(root string) ([]string, error) {
	return listFilesOf(root, func(p string) bool { return isPolicyFile(p) || isDataFile(p) })
}

// listFilesOf is listFiles of the files keep keeps.
func listFilesOf(root string, keep func(string) bool) ([]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("policy path: %w", err)
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	resolved, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("policy path: %w", err)
	}
	var out []string
	err = filepath.WalkDir(resolved, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Kubernetes mounts ConfigMaps through ..data symlinks and
		// timestamped ..2026_... directories; read only the visible names.
		if d.IsDir() && p != resolved && strings.HasPrefix(d.Name(), "..") {
			return filepath.SkipDir
		}
		if !d.IsDir() && keep(p) {
			rel, err := filepath.Rel(resolved, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.Join(root, rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policy path %s: %w", root, err)
	}
	sort.Strings(out)
	return out, nil
}

func isPolicyFile(p string) bool {
	return strings.HasSuffix(p, ".rego") && !strings.HasSuffix(p, "_test.rego")
}

func isDataFile(p string) bool {
	return strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")
}

func (s *sources) addModule(name string, raw []byte) error {
	m, err := ast.ParseModuleWithOpts(name, string(raw), parseOptions)
	if err != nil {
		return err // ast errors name the file and line
	}
	s.modules[name] = m
	return nil
}

// addData merges a data file's top-level keys into data.strata.config.
func (s *sources) addData(name string, raw []byte) error {
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("data file %s: %w", name, err)
	}
	for k, v := range doc {
		s.data[k] = v
	}
	return nil
}

// metadata reads the id, title, description and action of every policy
// package (a direct child of strata.policies), keyed by that child's name.
func metadata(modules map[string]*ast.Module) (map[string]Meta, error) {
	out := map[string]Meta{}
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		m := modules[name]
		key, ok := policyKey(m.Package.Path)
		if !ok {
			continue // a library package: loaded, not queried
		}
		meta := Meta{ID: strings.ReplaceAll(key, "_", "-"), Action: Enforce, Source: name}
		for _, a := range m.Annotations {
			if a.Scope != "package" {
				continue
			}
			meta.Title, meta.Description = a.Title, a.Description
			if id, ok := a.Custom["id"].(string); ok && id != "" {
				meta.ID = id
			}
			if req, ok := a.Custom["requires"]; ok {
				keys, err := stringList(req)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: METADATA custom.requires: %w", name, err))
				}
				meta.Requires = keys
			}
			if s, ok := a.Custom["action"].(string); ok {
				act, err := ParseAction(s)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: METADATA custom.action: %w", name, err))
				}
				meta.Action = act
			}
		}
		if prev, dup := out[key]; dup && prev.Source != name {
			// Rego merges a package split over files; the first file's
			// metadata stands unless a later one has some.
			if meta.Title == "" {
				continue
			}
		}
		out[key] = meta
	}
	ids := map[string]string{}
	for _, m := range out {
		if other, dup := ids[m.ID]; dup {
			errs = append(errs, fmt.Errorf("policy id %q is used by both %s and %s", m.ID, other, m.Source))
		}
		ids[m.ID] = m.Source
	}
	return out, errors.Join(errs...)
}

// policyKey returns the name of the strata.policies child a package is, e.g.
// "run_as_root" for data.strata.policies.run_as_root.
func policyKey(path ast.Ref) (string, bool) {
	s := strings.TrimPrefix(path.String(), "data.")
	rest, ok := strings.CutPrefix(s, policyRoot+".")
	if !ok || rest == "" || strings.Contains(rest, ".") {
		return "", false
	}
	return rest, true
}

// mergeData returns base with the data files' keys over it, as JSON-clean
// values the store accepts.
func mergeData(base, files map[string]any) (map[string]any, error) {
	merged := make(map[string]any, len(base)+len(files))
	for k, v := range base {
		merged[k] = v
	}
	for k, v := range files {
		merged[k] = v
	}
	raw, err := json.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("policy data: %w", err)
	}
	var clean map[string]any
	if err := json.Unmarshal(raw, &clean); err != nil {
		return nil, fmt.Errorf("policy data: %w", err)
	}
	return clean, nil
}

// stringList reads a METADATA list of strings.
func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%v: want a list of data keys", v)
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("%v: want a list of data keys", v)
		}
		out = append(out, s)
	}
	return out, nil
}

// markInactive records, on each policy that is not off, the first key it
// requires that data leaves missing or empty: such a policy yields nothing,
// and saying so is the only honest answer.
func markInactive(metas map[string]Meta, data map[string]any) {
	for key, m := range metas {
		if m.Action == Off {
			continue
		}
		for _, k := range m.Requires {
			if isEmpty(data[k]) {
				m.Inactive = fmt.Sprintf("%s is empty: the policy has nothing to check against and reports nothing", k)
				metas[key] = m
				break
			}
		}
	}
}

// isEmpty is true for a missing or null value, and an empty list, object
// or string.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	case string:
		return v == ""
	}
	return false
}
