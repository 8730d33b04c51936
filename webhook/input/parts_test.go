package input

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/memtest"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/workload"
)

// TestPartsInputIsValue: an input whose image part came from the cache is
// the input built from scratch, for the first container that names the
// image and for the next, and the part is built once.
func TestPartsInputIsValue(t *testing.T) {
	t.Parallel()
	parts := NewParts(0)
	s := subjects()["resolved"]
	first := parts.Input(s)
	other := *s
	other.Container.Name = "sidecar"
	second := parts.Input(&other)
	for _, tc := range []struct {
		name string
		s    *Subject
		got  ast.Value
	}{{"first", s, first.Value()}, {"second", &other, second.Value()}} {
		if want := tc.s.Value().Value(); tc.got.Compare(want) != 0 {
			t.Errorf("%s: Parts.Input = %v, want Value() %v", tc.name, tc.got, want)
		}
	}
	image := func(v ast.Value) *ast.Term { return v.(ast.Object).Get(ast.StringTerm("image")) }
	if image(first.Value()) != image(second.Value()) {
		t.Error("the second container's input has an image part of its own; want the first one's, built once")
	}
}

// TestPartsNeverServeAnotherImagesPart changes, one at a time, each thing
// the image part is built from, after the part of the original is cached:
// each change must give the input built from scratch, never the cached part.
func TestPartsNeverServeAnotherImagesPart(t *testing.T) {
	t.Parallel()
	changes := map[string]func(s *Subject){
		"platform manifest": func(s *Subject) {
			f := *s.Facts
			f.Digest, f.Ref = images.Digest{7}, "registry.example.com/shop/web@"+images.Digest{7}.String()
			f.Config.User = images.ParseUser("app")
			s.Facts = &f
		},
		"platform":    func(s *Subject) { f := *s.Facts; f.Platform = "linux/arm64"; s.Facts = &f },
		"tag":         func(s *Subject) { img := *s.Image; img.Ref = "registry.example.com/shop/web:1.3"; s.Image = &img },
		"index":       func(s *Subject) { img := *s.Image; img.Digest = images.Digest{8}; s.Image = &img },
		"stale":       func(s *Subject) { img := *s.Image; img.Stale = true; s.Image = &img },
		"stale cause": func(s *Subject) { img := *s.Image; img.Stale, img.StaleAge = true, 1<<40; s.Image = &img },
		"base layers": func(s *Subject) {
			s.Lineage = lineage.Lineage{Chain: []lineage.Entry{{Digest: images.Digest{1}, Layers: 4}}, Depth: 2}
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			parts := NewParts(0)
			parts.Input(subjects()["resolved"])
			s := subjects()["resolved"]
			change(s)
			if got, want := parts.Input(s).Value(), s.Value().Value(); got.Compare(want) != 0 {
				t.Errorf("after a %s change, Parts.Input = %v\nwant %v", name, got, want)
			}
		})
	}
}

// TestPartsNeverServeAnotherContainersPart changes, one at a time, every
// field of the container and of its security context, after the part of
// the original is cached: each change must give the input built from
// scratch. A field added to workload.Container and not to containerKey
// fails here.
func TestPartsNeverServeAnotherContainersPart(t *testing.T) {
	t.Parallel()
	s := subjects()["resolved"]
	s.Container.SecurityContext = workload.SecurityContext{RunAsUser: new(int64(1000)), RunAsGroup: new(int64(1000)),
		RunAsNonRoot: new(true), WindowsRunAsUserName: new("app")}
	parts := NewParts(0)
	parts.Input(s)
	structs := map[string]reflect.Value{
		"Container":                 reflect.ValueOf(&s.Container).Elem(),
		"Container.SecurityContext": reflect.ValueOf(&s.Container.SecurityContext).Elem(),
	}
	for what, v := range structs {
		for i := range v.NumField() {
			f, name := v.Field(i), what+"."+v.Type().Field(i).Name
			old := reflect.New(f.Type()).Elem()
			old.Set(f)
			for _, change := range containerChanges(t, name, f) {
				change()
				if got, want := parts.Input(s).Value(), s.Value().Value(); got.Compare(want) != 0 {
					t.Errorf("after a change of %s, Parts.Input = %v\nwant %v", name, got, want)
				}
				f.Set(old)
			}
		}
	}
}

// containerChanges are the ways field f can differ: another value, and for
// a pointer, no value.
func containerChanges(t *testing.T, name string, f reflect.Value) []func() {
	switch f.Kind() {
	case reflect.String:
		return []func(){func() { f.SetString(f.String() + "x") }}
	case reflect.Struct:
		return nil // its fields are changed one by one
	case reflect.Pointer:
		return []func(){
			func() { f.SetZero() },
			func() {
				p := reflect.New(f.Type().Elem())
				switch e := p.Elem(); e.Kind() {
				case reflect.Int64:
					e.SetInt(f.Elem().Int() + 1)
				case reflect.Bool:
					e.SetBool(!f.Elem().Bool())
				case reflect.String:
					e.SetString(f.Elem().String() + "x")
				default:
					t.Fatalf("%s: a pointer to %s; teach containerKey and this test about it", name, e.Kind())
				}
				f.Set(p)
			},
		}
	}
	t.Fatalf("%s: a field of kind %s; teach containerKey and this test about it", name, f.Kind())
	return nil
}

// TestPartsOfUnresolvedImagesAreNotCached: an image that did not resolve has
// no facts to share, and its input is built in full.
func TestPartsOfUnresolvedImagesAreNotCached(t *testing.T) {
	t.Parallel()
	parts := NewParts(0)
	s := subjects()["unresolved"]
	if got, want := parts.Input(s).Value(), s.Value().Value(); got.Compare(want) != 0 {
		t.Errorf("Parts.Input = %v, want %v", got, want)
	}
	if n := parts.entries.Len(); n != 0 {
		t.Errorf("after an unresolved image, the cache holds %d parts, want 0", n)
	}
}

// TestPartCostCoversWhatAPartHolds holds partCost to the heap the parts
// keep: of a realistic image (twelve layers, twelve steps of history, a
// config of some labels and variables), and of the containers of one image,
// small parts whose fixed costs weigh most.
func TestPartCostCoversWhatAPartHolds(t *testing.T) {
	const n = 500
	realistic := func(i int) *Subject {
		s := subjects()["resolved"]
		f := *s.Facts
		f.Digest = images.Digest{byte(i), byte(i >> 8), 1}
		f.Ref = fmt.Sprintf("registry.example.com/shop/app-%d@%s", i, f.Digest)
		f.Layers, f.LayerSizes, f.History = 12, make([]int64, 12), nil
		for j := range 12 {
			f.LayerSizes[j] = int64(j) << 20
			f.History = append(f.History, images.History{CreatedBy: fmt.Sprintf("RUN /bin/sh -c step %d of image %d && apt-get install -y something", j, i)})
		}
		f.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", fmt.Sprintf("APP=%d", i)}
		f.Config.Labels = images.StringsOf(map[string]string{"org.opencontainers.image.source": "https://example.com/app", "org.opencontainers.image.revision": fmt.Sprint(i)})
		s.Facts = &f
		return s
	}
	container := func(i int) *Subject {
		s := subjects()["resolved"]
		s.Container.Name = fmt.Sprintf("worker-%d", i)
		s.Container.SecurityContext = workload.SecurityContext{RunAsUser: new(int64(1000 + i))}
		return s
	}
	for name, subjectOf := range map[string]func(int) *Subject{"images": realistic, "containers": container} {
		t.Run(name, func(t *testing.T) {
			parts := NewParts(1 << 40)
			subjects := make([]*Subject, n)
			for i := range subjects {
				subjects[i] = subjectOf(i)
			}
			before := memtest.HeapInUse()
			for _, s := range subjects {
				parts.Input(s)
			}
			held := memtest.HeapInUse() - before
			runtime.KeepAlive(subjects) // they were live before: what they hold is not the parts'
			charged := parts.entries.Bytes() + parts.lineages.Bytes() + parts.containers.Bytes()
			t.Logf("%d parts: %d bytes held, %d charged (%d and %d per part)", n, held, charged, held/n, charged/n)
			if charged < held {
				t.Errorf("partCost charges %d bytes for %d parts that hold %d: raise termBytes or partOverhead", charged, n, held)
			}
			if charged > 2*held {
				t.Errorf("partCost charges %d bytes for %d parts that hold %d: more than twice what they hold", charged, n, held)
			}
		})
	}
}

// TestFingerprintReadsEveryField sets, one at a time, every field of a
// lineage, of its chain's entries, of self and of its claims to a value it
// did not have: each must change the fingerprint, or two lineages could
// share a part. A field added to lineage's types and not to fingerprint
// fails here. The ID names a lineage the catalog remembers, not what it
// holds: lineages of one content share a part whatever their IDs.
func TestFingerprintReadsEveryField(t *testing.T) {
	t.Parallel()
	l := lineage.Lineage{
		Chain:  []lineage.Entry{{Refs: []string{"a"}, Layers: 1}},
		Self:   &lineage.Entry{Refs: []string{"s"}},
		Claims: []lineage.Claim{{Name: "c"}},
	}
	want := fingerprint(l)
	structs := map[string]reflect.Value{
		"Lineage":   reflect.ValueOf(&l).Elem(),
		"Chain[0]":  reflect.ValueOf(&l.Chain[0]).Elem(),
		"Self":      reflect.ValueOf(l.Self).Elem(),
		"Claims[0]": reflect.ValueOf(&l.Claims[0]).Elem(),
	}
	for what, v := range structs {
		for i := range v.NumField() {
			f, name := v.Field(i), what+"."+v.Type().Field(i).Name
			if name == "Lineage.ID" {
				continue
			}
			old := reflect.New(f.Type()).Elem()
			old.Set(f)
			switch f.Kind() {
			case reflect.String:
				f.SetString(f.String() + "x")
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.Int:
				f.SetInt(f.Int() + 1)
			case reflect.Array:
				f.Index(0).SetUint(f.Index(0).Uint() + 1)
			case reflect.Slice:
				if f.Type().Elem().Kind() != reflect.String {
					f.Set(reflect.MakeSlice(f.Type(), f.Len()+1, f.Len()+1))
					break
				}
				f.Set(reflect.Append(f, reflect.ValueOf("x")))
			case reflect.Pointer:
				f.SetZero()
			default:
				t.Fatalf("%s: a field of kind %s; teach fingerprint and this test about it", name, f.Kind())
			}
			if fingerprint(l) == want {
				t.Errorf("changing %s leaves the fingerprint as it was", name)
			}
			f.Set(old)
		}
	}
	if fingerprint(l) != want {
		t.Fatal("the lineage was not restored between changes")
	}
}

// TestLineagePartsByIDAreTheContentsParts: a lineage the catalog
// remembers (its ID) gets the part of its content, built once, and the
// same part again by its ID; another content under another ID its own.
func TestLineagePartsByIDAreTheContentsParts(t *testing.T) {
	t.Parallel()
	parts := NewParts(0)
	l := lineage.Lineage{Chain: []lineage.Entry{{Refs: []string{"a"}, Layers: 1}}, Depth: 2}
	first := parts.lineagePart(l)
	l.ID = 7
	if got := parts.lineagePart(l); got.Term() != first.Term() {
		t.Error("lineage 7's part is not the part of its content")
	}
	if got := parts.lineagePart(l); got.Term() != first.Term() {
		t.Error("lineage 7's part, asked again by its ID, is not the part of its content")
	}
	other := lineage.Lineage{Chain: []lineage.Entry{{Refs: []string{"b"}, Layers: 1}}, Depth: 2, ID: 8}
	got := parts.lineagePart(other)
	if got.Term() == first.Term() || got.Term().Value.Compare(lineageValue(other)) != 0 {
		t.Errorf("lineage 8's part = %v, want its own content %v", got.Term(), lineageValue(other))
	}
	if again := parts.lineagePart(other); again.Term() != got.Term() {
		t.Error("lineage 8's part, asked again by its ID, is another")
	}
}

// TestCommonIsSharedAndIsTheValue: the containers of one workload share its
// request and workload values, and each input is still the one built alone.
func TestCommonIsSharedAndIsTheValue(t *testing.T) {
	t.Parallel()
	common := &Common{}
	first, second := *subjects()["resolved"], *subjects()["named user"]
	first.Common, second.Common = common, common
	a, b := NewParts(0).Input(&first).Value().(ast.Object), second.Value().Value().(ast.Object)
	for _, tc := range []struct {
		s   Subject
		got ast.Object
	}{{first, a}, {second, b}} {
		alone := tc.s
		alone.Common = nil
		if want := alone.Value().Value(); tc.got.Compare(want) != 0 {
			t.Errorf("input of %s with Common = %v, want %v", tc.s.Container.Name, tc.got, want)
		}
	}
	for _, key := range []string{"request", "workload"} {
		if a.Get(ast.StringTerm(key)) != b.Get(ast.StringTerm(key)) {
			t.Errorf("the two containers' %s values are two values, want one shared", key)
		}
	}
}
