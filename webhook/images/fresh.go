package images

import (
	"context"
	"fmt"
)

// ResolveFresh is Resolve for a caller that must know where a tag points
// now, whatever TagTTL: the lineage catalog's refresh, which may run more
// often than the tag TTL and must see a re-pointed base at once. A tag
// resolution younger than TagTTL is re-checked with the registry (one HEAD
// while the content is known). It never answers with a stale resolution:
// when the registry fails the re-check, the error says so.
func (r *Resolver) ResolveFresh(ctx context.Context, image string, access Access) (*Image, error) {
	if ref, canonical, err := r.parse(image); err == nil && !ref.ByDigest() {
		r.expireTag(refKey{scope: access.Scope, ref: canonical})
	}
	img, err := r.Resolve(ctx, image, access)
	if err != nil {
		return nil, err
	}
	if img.Stale {
		return nil, fmt.Errorf("re-checking %s: the registry did not answer; its last known digest %s was not confirmed", image, img.Digest)
	}
	return img, nil
}

// expireTag makes the cached resolution of key old enough to be re-checked
// by the next resolution. It only ever makes an entry older, so that it
// cannot stretch the window in which a failing registry is answered from
// it (TagTTL + StaleTTL after the last successful check).
func (r *Resolver) expireTag(key refKey) {
	e, ok := r.refs.Get(key)
	if !ok || e.notFound != nil {
		return
	}
	expired := r.opts.Now().Add(-r.opts.TagTTL)
	if !e.checked.After(expired) {
		return
	}
	aged := *e
	aged.checked = expired
	r.refs.Add(key, &aged, key.cost()+int64(len(aged.mediaType)))
}
