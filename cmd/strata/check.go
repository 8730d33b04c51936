package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	goyaml "go.yaml.in/yaml/v2"
	"golang.org/x/sync/errgroup"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/report"
	"github.com/strata-project/strata/webhook/workload"
)

// violationsFound is check's answer when the mode enforces a violation: run
// exits 1 and prints nothing more, the report having said it all.
type violationsFound struct{ denied int }

func (e violationsFound) Error() string {
	return fmt.Sprintf("%d object(s) denied", e.denied)
}

// checkConcurrency bounds the objects checked at once; each check already
// resolves its own images concurrently, and the resolver shares fetches.
const checkConcurrency = 4

func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var paths pathList
	fs.Var(&paths, "f", "manifests: a file, a directory (its *.yaml, *.yml, *.json, recursively) or - for stdin; repeatable or comma-separated")
	configPath := fs.String("config", "", "strata.yaml to read")
	mode := fs.String("mode", "", "enforce, warn or audit: what a violation does; enforced ones fail the check (default: the config's mode, else warn)")
	output := fs.String("o", "text", "output format: text, json or sarif")
	insecure := fs.Bool("insecure", false, "reach the manifests' registries over plain HTTP (local registries only)")
	limits := DefaultReadLimits
	fs.Int64Var(&limits.FileBytes, "max-file-bytes", limits.FileBytes, "the most bytes one manifest file (or standard input) may hold; a larger one is an error")
	fs.Int64Var(&limits.TotalBytes, "max-total-bytes", limits.TotalBytes, "the most bytes all manifest files together may hold; more is an error")
	useDemo := fs.Bool("demo", false, "start the built-in demo registry, which serves the images named "+demo.Host+"/...")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: strata check -f FILE|DIR|- [flags]\n\nEvaluates the policies on the pod-bearing objects of manifests, as the webhook\nwould admit them. Exit code: 0 allowed (warnings allowed), 1 denied by the mode,\n2 an error.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if !slices.Contains([]string{"text", "json", "sarif"}, *output) {
		fmt.Fprintf(stderr, "-o %q: want text, json or sarif\n", *output)
		return errUsage
	}
	if *mode != "" && !slices.Contains(webhook.Modes, *mode) {
		fmt.Fprintf(stderr, "--mode %q: want %s\n", *mode, strings.Join(webhook.Modes, ", "))
		return errUsage
	}
	if limits.FileBytes <= 0 || limits.TotalBytes <= 0 {
		fmt.Fprintf(stderr, "--max-file-bytes %d, --max-total-bytes %d: want byte counts above 0\n", limits.FileBytes, limits.TotalBytes)
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q: name manifests with -f\n", fs.Arg(0))
		return errUsage
	}
	if len(paths) == 0 {
		fs.Usage()
		return errUsage
	}

	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *mode != "" {
		cfg.Mode = *mode
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	// Every manifest is read before any registry is contacted, so that a
	// typo fails fast and alone.
	manifests, read, err := readManifests(paths, stdin, limits)
	if err != nil {
		return err
	}
	if *insecure {
		cfg.Registry.Insecure = append(cfg.Registry.Insecure, registries(manifests)...)
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := webhook.NewPipeline(ctx, cfg, webhook.PipelineOptions{Demo: *useDemo, Logger: logger})
	if err != nil {
		return err
	}
	defer p.Close()
	loadCatalog(ctx, p, logger)

	rep := &report.Check{
		Mode:     policy.Action(cfg.Mode),
		Objects:  checkManifests(ctx, p.Checker, p.Config, manifests),
		Read:     read,
		Policies: p.Engine.Policies(),
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted: the resolution failures it caused are not findings
	}
	switch *output {
	case "json":
		err = report.WriteCheckJSON(stdout, rep)
	case "sarif":
		err = report.WriteCheckSARIF(stdout, rep)
	default:
		err = report.WriteCheckText(stdout, rep)
	}
	if err != nil {
		return err
	}
	if n := rep.Summary().Denied; n > 0 {
		return violationsFound{denied: n}
	}
	return nil
}

// checkManifests evaluates each object exactly as the webhook's handler
// does: the Checker's exempt namespaces are not evaluated, and the mode
// decides.
func checkManifests(ctx context.Context, checker *webhook.Checker, cfg webhook.Config, manifests []manifest) []report.CheckedObject {
	mode := policy.Action(cfg.Mode)
	out := make([]report.CheckedObject, len(manifests))
	var g errgroup.Group
	g.SetLimit(checkConcurrency)
	for i, m := range manifests {
		w := m.workload
		o := report.CheckedObject{
			File: m.file, Line: m.line, Document: m.document, Item: m.item,
			Kind: w.Kind, Namespace: w.Namespace, Name: w.Name,
		}
		if checker.NamespaceExempt(w.Namespace) {
			o.Exempt, o.Decision = true, report.Allow
			out[i] = o
			continue
		}
		g.Go(func() error {
			// The webhook's deadline is the API server's; here it is the
			// registry budget and time to evaluate.
			wctx, cancel := context.WithTimeout(ctx, cfg.Registry.Timeout.Duration+2*time.Second)
			defer cancel()
			vs := checker.Check(wctx, policy.Request{Operation: "CHECK", Namespace: w.Namespace, Mode: mode}, w)
			d := webhook.Decide(mode, vs)
			o.Violations, o.Decision = d.Violations, report.DecisionOf(d.Allowed, d.Violations)
			out[i] = o
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// registries lists the registry hosts of every image in the manifests.
func registries(manifests []manifest) []string {
	var hosts []string
	for _, m := range manifests {
		for _, c := range m.workload.Containers {
			if ref, err := images.ParseReference(c.Image); err == nil && !slices.Contains(hosts, ref.Registry) {
				hosts = append(hosts, ref.Registry)
			}
		}
	}
	return hosts
}

// pathList is -f: repeatable, and each value may list paths with commas.
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, ",") }

func (p *pathList) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s == "" {
			return errors.New("empty path")
		}
		*p = append(*p, s)
	}
	return nil
}

// manifest is one pod-bearing object read from a file.
type manifest struct {
	file     string
	line     int // where its document's content starts
	document int // from 1, among the file's non-empty documents
	item     int // from 1 in a List, else 0
	workload *workload.Workload
}

// stdinName is how standard input is named in reports.
const stdinName = "stdin"

// ReadLimits bounds what check reads, so that a repository (or whatever a
// symlink in it points to) cannot make it read without end. kubectl has no
// such bound; no real manifest comes near the defaults.
type ReadLimits struct {
	// FileBytes caps one file, and standard input.
	FileBytes int64
	// TotalBytes caps all of them together.
	TotalBytes int64
}

// DefaultReadLimits are check's caps unless its flags say otherwise.
var DefaultReadLimits = ReadLimits{FileBytes: 16 << 20, TotalBytes: 128 << 20}

// manifestReader reads manifests within its limits, counting what it read.
type manifestReader struct {
	limits ReadLimits
	read   int64
}

// readManifests reads and decodes every path; objects without a pod are
// left out, and counted in read with the others. Any file that cannot be
// read or decoded is an error.
func readManifests(paths []string, stdin io.Reader, limits ReadLimits) (out []manifest, read int, err error) {
	r := &manifestReader{limits: limits}
	readStdin := false
	for _, path := range paths {
		if path == "-" {
			if readStdin {
				return nil, 0, errors.New("-f -: standard input can be read only once")
			}
			readStdin = true
			data, err := r.readCapped(stdinName, stdin)
			if err != nil {
				return nil, 0, err
			}
			ms, n, err := decodeManifests(stdinName, data)
			if err != nil {
				return nil, 0, err
			}
			out, read = append(out, ms...), read+n
			continue
		}
		files, err := manifestFiles(path)
		if err != nil {
			return nil, 0, err
		}
		for _, file := range files {
			data, err := r.readFile(file)
			if err != nil {
				return nil, 0, err
			}
			ms, n, err := decodeManifests(file, data)
			if err != nil {
				return nil, 0, err
			}
			out, read = append(out, ms...), read+n
		}
	}
	return out, read, nil
}

// readFile reads a regular file, following symlinks to one. Anything else
// is refused before it is read: a device never ends (/dev/zero), and a FIFO
// blocks its reader until a writer comes, which may be never.
func (r *manifestReader) readFile(file string) ([]byte, error) {
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
	return fmt.Errorf("%s: not a regular file (%s): strata check reads only regular files; name the manifest itself, or pass it on standard input with -f -", file, info.Mode().Type())
}

// readCapped reads src, named name, within the caps left: more is an error,
// never a truncated read.
func (r *manifestReader) readCapped(name string, src io.Reader) ([]byte, error) {
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
			return nil, fmt.Errorf("%s: the manifests read pass the %d-byte cap of --max-total-bytes: check fewer at once, or raise the cap", name, r.limits.TotalBytes)
		}
		return nil, fmt.Errorf("%s: larger than the %d-byte cap of --max-file-bytes: split it, or raise the cap", name, r.limits.FileBytes)
	}
	r.read += int64(len(data))
	return data, nil
}

// manifestFiles returns path itself if it is a file, or the manifests under
// it, in lexical order, if it is a directory.
func manifestFiles(path string) ([]string, error) {
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

// decodeManifests decodes every document of one file, and counts the
// objects it read.
func decodeManifests(file string, data []byte) (out []manifest, read int, err error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	for _, doc := range docs {
		values, err := documentValues(doc.text)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: document %d (line %d): %w", file, doc.index, doc.line, err)
		}
		for _, value := range values {
			ws, n, err := decodeDocument(value)
			if err != nil {
				return nil, 0, fmt.Errorf("%s: document %d (line %d): %w", file, doc.index, doc.line, err)
			}
			read += n
			for _, w := range ws {
				out = append(out, manifest{file: file, line: doc.line, document: doc.index, item: w.item, workload: w.workload})
			}
		}
	}
	return out, read, nil
}

// errManyDocuments refuses a document of kubectl's splitting that YAML
// still reads as several: kubectl applies the first only, other YAML tools
// may apply them all, and reading one of them would let another go
// unchecked.
var errManyDocuments = errors.New("more than one YAML document without a --- line between them (kubectl reads only the first); start each document with a line of its own holding ---")

// documentValues returns every object of one document as kubectl reads it:
// text that starts with "{" is a stream of JSON objects, which may go on as
// YAML ({ConfigMap}{Pod} creates both); YAML is one object. The decoder is
// kubectl's own, so that no object it applies goes unread here.
func documentValues(text []byte) ([][]byte, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(text), []byte("{")) {
		if err := oneYAMLDocument(text); err != nil {
			return nil, err
		}
		return [][]byte{text}, nil // YAML errors keep their line numbers
	}
	if err := oneYAMLDocument(afterJSON(text)); err != nil {
		return nil, err
	}
	d := kyaml.NewYAMLOrJSONDecoder(bytes.NewReader(text), 4096)
	var out [][]byte
	for {
		var value json.RawMessage
		err := d.Decode(&value)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, value)
	}
}

// afterJSON returns what follows the JSON objects text starts with: the
// YAML that kubectl's decoder reads once JSON stops.
func afterJSON(text []byte) []byte {
	d := json.NewDecoder(bytes.NewReader(text))
	var end int64
	for {
		var value json.RawMessage
		if d.Decode(&value) != nil {
			return text[end:]
		}
		end = d.InputOffset()
	}
}

// oneYAMLDocument refuses text that YAML reads as more than one document,
// with the parser sigs.k8s.io/yaml decodes it with: after a "..." line, or
// across lines ended by a lone CR, which YAML counts as line breaks and
// kubectl's splitter does not. Text that does not parse is left for the
// decoding to report.
func oneYAMLDocument(text []byte) error {
	d := goyaml.NewDecoder(bytes.NewReader(text))
	var first any
	if err := d.Decode(&first); err != nil {
		return nil
	}
	var second any
	if err := d.Decode(&second); !errors.Is(err, io.EOF) {
		return errManyDocuments
	}
	return nil
}

// document is one YAML document of a file.
type document struct {
	text  []byte
	line  int // of its first line with content
	index int // from 1
}

// splitDocuments decodes data as kubectl does (a byte order mark selects
// UTF-16 LE or BE, or is dropped from UTF-8) and splits it into documents
// with kubectl's own reader, at every line that starts with "---" and goes
// on with nothing but spaces or a comment. A line starting with "---" and
// anything else is an error, as it is to kubectl. Documents with nothing
// but comments are left out. JSON is YAML, and one document.
func splitDocuments(data []byte) ([]document, error) {
	data, _, err := transform.Bytes(unicode.BOMOverride(unicode.UTF8.NewDecoder()), data)
	if err != nil {
		return nil, fmt.Errorf("decoding its text: %w", err)
	}
	// The reader returns documents, not where they are: they are found
	// in data's lines, which it reads one at a time and gives back whole.
	// It keeps the separators it meets while its document is still empty,
	// and consumes exactly one, the one that ends a document.
	lines := bytes.SplitAfter(data, []byte("\n"))
	next := 0 // the first line of data not yet in a document
	r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []document
	for pieces := 0; ; pieces++ {
		text, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if pieces > 0 {
			next++
		}
		if err != nil {
			for next < len(lines) && (!bytes.HasPrefix(lines[next], []byte("---")) || isSeparator(lines[next])) {
				next++
			}
			return nil, fmt.Errorf("line %d: %w", next+1, err)
		}
		first := next
		next += bytes.Count(text, []byte("\n"))
		for i, line := range lines[first:min(next, len(lines))] {
			if hasContent(line) && !isSeparator(line) {
				docs = append(docs, document{text: text, line: first + i + 1, index: len(docs) + 1})
				break
			}
		}
	}
}

// isSeparator is kubectl's reader's test of a document separator, used only
// to number lines.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	rest = bytes.TrimSpace(rest)
	return ok && (len(rest) == 0 || rest[0] == '#')
}

func hasContent(line []byte) bool {
	line = bytes.TrimSpace(line)
	return len(line) > 0 && line[0] != '#'
}

// decoded is one pod-bearing object of a document.
type decoded struct {
	item     int
	workload *workload.Workload
}

// header is what every Kubernetes object and List says of itself.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
	} `json:"metadata"`
}

// maxListDepth bounds Lists inside Lists, so that a document nested
// without end is refused rather than read until memory runs out; kubectl
// has no bound, and no real manifest comes near this one.
const maxListDepth = 32

// decodeDocument decodes one document: an object, or a list of them,
// flattened as kubectl does. It returns the pod-bearing objects and how many
// objects it read, lists not counted.
func decodeDocument(text []byte) ([]decoded, int, error) {
	raw, err := yaml.YAMLToJSON(text)
	if err != nil {
		return nil, 0, err
	}
	if string(raw) == "null" {
		return nil, 0, nil
	}
	h, err := readHeader(raw)
	if err != nil {
		return nil, 0, err
	}
	if h.APIVersion == "" {
		return nil, 0, fmt.Errorf("%s has no apiVersion: not a Kubernetes object", h.Kind)
	}
	items, isList, err := listItems(raw)
	if err != nil {
		return nil, 0, err
	}
	if !isList {
		w, err := decodeObject(h, raw)
		if w == nil || err != nil {
			return nil, 1, err
		}
		return []decoded{{workload: w}}, 1, nil
	}
	objects, err := flatten(h, items)
	if err != nil {
		return nil, 0, err
	}
	var out []decoded
	for i, item := range objects {
		ih, err := readHeader(item.raw)
		if err != nil && !(errors.Is(err, errNoKind) && item.inferKind != "") {
			return nil, 0, fmt.Errorf("item %d: %w", i+1, err)
		}
		// The items of a typed list (PodList) may leave out their kind and
		// apiVersion; kubectl gives them the list's, at the top level only.
		if ih.Kind == "" && ih.APIVersion == "" && item.inferKind != "" {
			ih.Kind, ih.APIVersion = item.inferKind, h.APIVersion
		} else if ih.Kind == "" {
			return nil, 0, fmt.Errorf("item %d: %w", i+1, errNoKind)
		}
		w, err := decodeObject(ih, item.raw)
		if err != nil {
			return nil, 0, fmt.Errorf("item %d: %w", i+1, err)
		}
		if w != nil {
			out = append(out, decoded{item: i + 1, workload: w})
		}
	}
	return out, len(objects), nil
}

// listItems reports whether raw is a list as kubectl's decoder decides it
// (it has an items field, whatever its kind) and returns its items.
func listItems(raw []byte) ([]json.RawMessage, bool, error) {
	var l struct {
		Items json.RawMessage `json:"items"`
	}
	if err := k8sjson.UnmarshalCaseSensitivePreserveInts(raw, &l); err != nil || l.Items == nil {
		return nil, false, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(l.Items, &items); err != nil {
		return nil, true, errors.New("items is not a list")
	}
	return items, true, nil
}

// listItem is one object of a flattened list.
type listItem struct {
	raw json.RawMessage
	// inferKind is the kind its typed list implies (Pod of a PodList), for
	// an item of the top-level list.
	inferKind string
}

// flatten returns the objects of the top-level list h, whose items are
// given, in the order kubectl's FlattenListVisitor visits them: breadth
// first, a nested list being an item whose items field is a list.
func flatten(h header, items []json.RawMessage) ([]listItem, error) {
	type queued struct {
		raw   json.RawMessage
		depth int
	}
	inferKind := strings.TrimSuffix(h.Kind, "List")
	var out []listItem
	queue := make([]queued, 0, len(items))
	for _, item := range items {
		queue = append(queue, queued{item, 1})
	}
	for i := 0; i < len(queue); i++ {
		q := queue[i]
		nested, isList := nestedItems(q.raw)
		if !isList {
			item := listItem{raw: q.raw}
			if q.depth == 1 {
				item.inferKind = inferKind
			}
			out = append(out, item)
			continue
		}
		if q.depth >= maxListDepth {
			return nil, fmt.Errorf("Lists nested deeper than %d: not a manifest kubectl would apply here", maxListDepth)
		}
		for _, item := range nested {
			queue = append(queue, queued{item, q.depth + 1})
		}
	}
	return out, nil
}

// nestedItems reports whether an item of a list is itself a list: an object
// whose items field is a list, as kubectl's Unstructured.IsList decides.
func nestedItems(raw json.RawMessage) ([]json.RawMessage, bool) {
	if first := bytes.TrimSpace(raw); len(first) == 0 || first[0] != '{' {
		return nil, false
	}
	var l struct {
		Items json.RawMessage `json:"items"`
	}
	if k8sjson.UnmarshalCaseSensitivePreserveInts(raw, &l) != nil || !bytes.HasPrefix(bytes.TrimSpace(l.Items), []byte("[")) {
		return nil, false
	}
	var items []json.RawMessage
	if json.Unmarshal(l.Items, &items) != nil {
		return nil, false
	}
	return items, true
}

var errNoKind = errors.New("no kind: not a Kubernetes object")

func readHeader(raw []byte) (header, error) {
	var h header
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return h, errors.New("not a mapping: not a Kubernetes object")
	}
	if err := k8sjson.UnmarshalCaseSensitivePreserveInts(raw, &h); err != nil {
		return h, fmt.Errorf("reading apiVersion, kind and metadata: %w", err)
	}
	if h.Kind == "" {
		return h, errNoKind
	}
	return h, nil
}

// decodeObject decodes a pod-bearing object as the webhook would, with the
// namespace kubectl would apply it to; it returns nil for an object
// without a pod.
func decodeObject(h header, raw []byte) (*workload.Workload, error) {
	w, err := workload.Decode(schema.FromAPIVersionAndKind(h.APIVersion, h.Kind).GroupKind(), raw)
	if errors.Is(err, workload.ErrNoPodTemplate) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if w.Namespace == "" {
		w.Namespace = "default"
	}
	if w.Name == "" {
		w.Name = h.Metadata.GenerateName
	}
	return w, nil
}
