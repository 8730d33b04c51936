// Package input builds the policy input (docs/policy-input.md) from what the
// pipeline's stages learnt: the request, the workload and container, the
// image facts and the lineage. It stands between them and the engine, so
// that the engine (webhook/policy) depends on no image, lineage or workload
// type and evaluates any input value it is given.
package input

import (
	"errors"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// APIVersion is the version of the policy input contract.
const APIVersion = "strata.dev/v1"

// Subject is one container of one workload, and what was learnt of its
// image on one platform: either Facts (and Lineage), or Err.
type Subject struct {
	Request   policy.Request
	Workload  *workload.Workload
	Container workload.Container
	Image     *images.Image
	Facts     *images.Facts
	Lineage   lineage.Lineage
	// Err is why the image could not be resolved.
	Err error
	// Common, when set, holds the request and workload values, built by
	// the first input made with it: the subjects of one request's workload
	// share one, and only they may. Not safe for concurrent use.
	Common *Common
}

// Common is what the inputs of one workload's containers have in common.
type Common struct {
	request, workload *ast.Term
}

func (s *Subject) common() (request, workload *ast.Term) {
	if s.Common != nil && s.Common.request != nil {
		return s.Common.request, s.Common.workload
	}
	request = ast.NewTerm(ast.NewObject(
		item("operation", ast.String(s.Request.Operation)),
		item("dryRun", ast.Boolean(s.Request.DryRun)),
		item("namespace", ast.String(s.Request.Namespace)),
		item("user", ast.String(s.Request.User)),
	))
	workload = ast.NewTerm(workloadValue(s.Workload))
	if s.Common != nil {
		s.Common.request, s.Common.workload = request, workload
	}
	return request, workload
}

// Platform is the platform the subject is evaluated for, "" when unresolved.
func (s *Subject) Platform() string {
	if s.Facts == nil {
		return ""
	}
	return s.Facts.Platform
}

// Value builds the policy input (see docs/policy-input.md) as an OPA value,
// directly rather than through JSON, because it is built for every
// container and platform of every admission.
func (s *Subject) Value() policy.Input {
	return policy.InputOf(s.object(ast.NewTerm(s.imageValue()), ast.NewTerm(lineageValue(s.Lineage))))
}

func (s *Subject) object(image, lineage *ast.Term) ast.Object {
	request, workload := s.common()
	return ast.NewObject(
		item("apiVersion", ast.String(APIVersion)),
		[2]*ast.Term{ast.StringTerm("request"), request},
		[2]*ast.Term{ast.StringTerm("workload"), workload},
		item("container", containerValue(s.Container)),
		[2]*ast.Term{ast.StringTerm("image"), image},
		[2]*ast.Term{ast.StringTerm("lineage"), lineage},
	)
}

func item(k string, v ast.Value) [2]*ast.Term { return [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(v)} }

func workloadValue(w *workload.Workload) ast.Value {
	if w == nil {
		return ast.NewObject()
	}
	return ast.NewObject(
		item("kind", ast.String(w.Kind)),
		item("name", ast.String(w.Name)),
		item("namespace", ast.String(w.Namespace)),
		item("labels", stringMap(w.Labels)),
		item("annotations", stringMap(w.Annotations)),
	)
}

func containerValue(c workload.Container) ast.Value {
	sc := ast.NewObject()
	if v := c.SecurityContext.RunAsUser; v != nil {
		sc.Insert(ast.StringTerm("runAsUser"), ast.IntNumberTerm(int(*v)))
	}
	if v := c.SecurityContext.RunAsGroup; v != nil {
		sc.Insert(ast.StringTerm("runAsGroup"), ast.IntNumberTerm(int(*v)))
	}
	if v := c.SecurityContext.RunAsNonRoot; v != nil {
		sc.Insert(ast.StringTerm("runAsNonRoot"), ast.BooleanTerm(*v))
	}
	if v := c.SecurityContext.WindowsRunAsUserName; v != nil {
		sc.Insert(ast.StringTerm("windowsRunAsUserName"), ast.StringTerm(*v))
	}
	return ast.NewObject(
		item("name", ast.String(c.Name)),
		item("type", ast.String(c.Type)),
		item("image", ast.String(c.Image)),
		item("os", ast.String(c.OS)),
		item("securityContext", sc),
	)
}

func (s *Subject) imageValue() ast.Value {
	ref := s.Container.Image
	if s.Image != nil {
		ref = s.Image.Ref
	} else if r, err := images.ParseReference(s.Container.Image); err == nil {
		ref = r.String()
	}
	if s.Err != nil || s.Facts == nil {
		kind, msg := "unknown", "the image was not resolved"
		if s.Err != nil {
			msg = s.Err.Error()
			var e *images.Error
			if errors.As(s.Err, &e) {
				kind = string(e.Kind)
			}
		}
		return ast.NewObject(
			item("ref", ast.String(ref)),
			item("error", ast.NewObject(item("kind", ast.String(kind)), item("message", ast.String(msg)))),
		)
	}
	f := s.Facts
	obj := ast.NewObject(
		item("ref", ast.String(ref)),
		item("digest", ast.String(s.Image.Digest.String())),
		item("platformRef", ast.String(f.Ref)),
		item("platformDigest", ast.String(f.Digest.String())),
		item("platform", ast.String(f.Platform)),
		item("mediaType", ast.String(f.MediaType)),
		item("layers", ast.IntNumberTerm(f.Layers).Value),
		item("size", ast.IntNumberTerm(int(f.Size)).Value),
		item("historyLength", ast.IntNumberTerm(len(f.History)).Value),
		item("layerSizes", sizesValue(f.LayerSizes)),
		item("baseSize", ast.IntNumberTerm(int(f.PrefixSize(baseLayers(s.Lineage)))).Value),
		item("history", historyValue(f)),
		item("annotations", stringPairs(f.Annotations)),
		item("stale", ast.Boolean(s.Image.Stale)),
		item("config", configValue(f.Config)),
	)
	setOptional(obj, "staleReason", s.Image.StaleReason())
	return obj
}

// baseLayers is the layer count of the image's direct base, the last of its
// chain, whose layers are verified to be a prefix of the image's; 0 when no
// base is known.
func baseLayers(l lineage.Lineage) int {
	if len(l.Chain) == 0 {
		return 0
	}
	return l.Chain[len(l.Chain)-1].Layers
}

func sizesValue(sizes []int64) ast.Value {
	terms := make([]*ast.Term, len(sizes))
	for i, n := range sizes {
		terms[i] = ast.IntNumberTerm(int(n))
	}
	return ast.NewArray(terms...)
}

// historyValue is the build steps with what the policies read of them: the
// command, and the index of the layer each made, when the history can be
// matched to the layers (images.Facts.HistoryLayers).
func historyValue(f *images.Facts) ast.Value {
	layers := f.HistoryLayers()
	terms := make([]*ast.Term, len(f.History))
	for i, h := range f.History {
		step := ast.NewObject(
			item("createdBy", ast.String(h.CreatedBy)),
			item("emptyLayer", ast.Boolean(h.EmptyLayer)),
		)
		if layers != nil && layers[i] >= 0 {
			step.Insert(ast.StringTerm("layer"), ast.IntNumberTerm(layers[i]))
		}
		terms[i] = ast.NewTerm(step)
	}
	return ast.NewArray(terms...)
}

func configValue(c images.Config) ast.Value {
	u := c.User
	user := ast.NewObject(
		item("raw", ast.String(u.Raw)),
		item("uid", idValue(u.UID)),
		item("gid", idValue(u.GID)),
	)
	setOptional(user, "name", u.Name)
	setOptional(user, "group", u.Group)
	setOptional(user, "invalid", u.Invalid)
	created := ""
	if !c.Created.IsZero() {
		created = c.Created.UTC().Format(time.RFC3339)
	}
	return ast.NewObject(
		item("user", user),
		item("labels", stringPairs(c.Labels)),
		item("env", stringArray(c.Env)),
		item("entrypoint", stringArray(c.Entrypoint)),
		item("cmd", stringArray(c.Cmd)),
		item("workingDir", ast.String(c.WorkingDir)),
		item("created", ast.String(created)),
	)
}

func idValue(id *int64) ast.Value {
	if id == nil {
		return ast.Null{}
	}
	return ast.IntNumberTerm(int(*id)).Value
}

func lineageValue(l lineage.Lineage) ast.Value {
	chain := make([]*ast.Term, len(l.Chain))
	for i, e := range l.Chain {
		chain[i] = ast.NewTerm(entryValue(e))
	}
	claims := make([]*ast.Term, len(l.Claims))
	for i, c := range l.Claims {
		obj := ast.NewObject(
			item("by", ast.String(c.By.String())),
			item("name", ast.String(c.Name)),
			item("digest", ast.String(c.Digest)),
			item("source", ast.String(c.Source)),
			item("status", ast.String(c.Status)),
		)
		setOptional(obj, "reason", c.Reason)
		claims[i] = ast.NewTerm(obj)
	}
	depth := l.Depth
	if depth == 0 {
		depth = 1 // an unresolved image is still one image deep
	}
	obj := ast.NewObject(
		item("chain", ast.NewArray(chain...)),
		item("depth", ast.IntNumberTerm(depth).Value),
		item("complete", ast.Boolean(l.Complete)),
		item("claims", ast.NewArray(claims...)),
	)
	if l.Self != nil {
		obj.Insert(ast.StringTerm("self"), ast.NewTerm(entryValue(*l.Self)))
	}
	return obj
}

func entryValue(e lineage.Entry) ast.Value {
	obj := ast.NewObject(
		item("refs", stringArray(e.Refs)),
		item("digest", ast.String(e.Digest.String())),
		item("role", ast.String(e.Role)),
		item("layers", ast.IntNumberTerm(e.Layers).Value),
		item("evidence", stringArray(e.Evidence)),
		item("current", ast.Boolean(e.Current)),
	)
	if !e.CurrentDigest.IsZero() {
		obj.Insert(ast.StringTerm("currentDigest"), ast.StringTerm(e.CurrentDigest.String()))
	}
	if len(e.Sources) > 0 {
		obj.Insert(ast.StringTerm("sources"), ast.NewTerm(stringArray(e.Sources)))
	}
	setOptional(obj, "verified", e.Verified)
	setOptional(obj, "claimedName", e.ClaimedName)
	setOptional(obj, "movedTag", e.MovedTag)
	return obj
}

// setOptional adds key to obj only when value is set: the string fields
// the input schema leaves out rather than sends empty.
func setOptional(obj ast.Object, key, value string) {
	if value != "" {
		obj.Insert(ast.StringTerm(key), ast.StringTerm(value))
	}
}

func stringMap(m map[string]string) ast.Value {
	obj := ast.NewObjectWithCapacity(len(m))
	for k, v := range m {
		obj.Insert(ast.StringTerm(k), ast.StringTerm(v))
	}
	return obj
}

func stringPairs(s images.Strings) ast.Value {
	obj := ast.NewObjectWithCapacity(s.Len())
	for k, v := range s.All() {
		obj.Insert(ast.StringTerm(k), ast.StringTerm(v))
	}
	return obj
}

func stringArray(s []string) ast.Value {
	terms := make([]*ast.Term, len(s))
	for i, v := range s {
		terms[i] = ast.StringTerm(v)
	}
	return ast.NewArray(terms...)
}
