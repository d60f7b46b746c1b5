package pth

import (
	"archive/tar"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// countingReader counts the bytes read through it, so the offset of each tar
// member's data in the file is known.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// tarKey normalises a 0.3 object key (an int, or its decimal string) to a string.
func tarKey(v pickle.Value) (string, bool) {
	switch x := v.(type) {
	case int64:
		return fmt.Sprint(x), true
	case string:
		return x, true
	}
	return "", false
}

// readTar reads PyTorch ≤ 0.3's tar format (see legacy_load in
// torch/serialization.py): members sys_info, storages, tensors and pickle.
func (l *loader) readTar() error {
	l.file.Format = FormatTar
	if l.opts.WeightsOnly {
		return &Error{File: l.name, Offset: -1, Err: errorf(ErrWeightsOnly, "Cannot use ``weights_only=True`` with files saved in the legacy .tar format.")}
	}
	cr := &countingReader{r: io.NewSectionReader(l.ra, 0, l.size)}
	tr := tar.NewReader(cr)
	members := map[string]legacyRegion{}
	for i := 0; ; i++ {
		if i > 1000 {
			return &Error{File: l.name, Offset: cr.n, Err: errorf(ErrFormat, "too many tar members")}
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &Error{File: l.name, Offset: cr.n, Err: fmt.Errorf("%w: tar: %w", ErrFormat, err)}
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != 0 /* old-style regular file */ {
			continue
		}
		if h.Size < 0 || h.Size > l.size-cr.n {
			return &Error{File: l.name, Record: h.Name, Offset: cr.n, Err: errorf(ErrFormat, "member of %d bytes exceeds the file", h.Size)}
		}
		members[h.Name] = legacyRegion{off: cr.n, size: h.Size}
	}
	for _, name := range []string{"sys_info", "storages", "tensors", "pickle"} {
		if _, ok := members[name]; !ok {
			return &Error{File: l.name, Record: name, Offset: -1, Err: errorf(ErrMissingRecord, "tar member %q is missing", name)}
		}
	}
	m := members["sys_info"]
	s := l.newStreamReader("sys_info", m.off, m.off+m.size)
	sysInfo, err := s.pickle(nil)
	if err != nil {
		return err
	}
	bigEndian, err := sysInfoBigEndian(sysInfo)
	if err != nil {
		return &Error{File: l.name, Record: "sys_info", Offset: m.off, Err: err}
	}
	objects := map[string]pickle.Value{} // storages and tensors by key

	// storages: pickle(n), n × [pickle((key, location, storage_type)), i64 numel, data], pickle(views)
	m = members["storages"]
	s = l.newStreamReader("storages", m.off, m.off+m.size)
	nv, err := s.pickle(nil)
	if err != nil {
		return err
	}
	n, ok := nv.(int64)
	if !ok || n < 0 || n > m.size {
		return &Error{File: l.name, Record: "storages", Offset: m.off, Err: errorf(ErrFormat, "storage count %s", shortRepr(nv))}
	}
	for i := int64(0); i < n; i++ {
		at := s.pos
		hv, err := s.pickle(nil)
		if err != nil {
			return err
		}
		h, ok := hv.(pickle.Tuple)
		if !ok || len(h) != 3 {
			return &Error{File: l.name, Record: "storages", Offset: at, Err: errorf(ErrFormat, "storage header %s", shortRepr(hv))}
		}
		key, ok1 := tarKey(h[0])
		loc, ok2 := h[1].(string)
		cls, ok3 := h[2].(pickle.Global)
		if !ok1 || !ok2 || !ok3 {
			return &Error{File: l.name, Record: "storages", Offset: at, Err: errorf(ErrFormat, "storage header %s", shortRepr(hv))}
		}
		dt, ok := tensor.ParseStorageClass(cls.Name)
		if !ok {
			return &Error{File: l.name, Record: "storages", Offset: at, Key: key, Err: errorf(ErrUnsupported, "storage class %s", cls)}
		}
		hdrAt := s.pos
		hdr, err := s.fixed(8)
		if err != nil {
			return locate(l.name, "storages", hdrAt, &keyError{key, err})
		}
		nbytes, ok := mulCheck(readInt64LE(hdr), int64(dt.Size()))
		if !ok {
			return &Error{File: l.name, Record: "storages", Offset: hdrAt, Key: key, Err: errorf(ErrFormat, "storage numel %d", readInt64LE(hdr))}
		}
		st := l.storageAt(dt, s.pos, min(nbytes, max(0, s.end-s.pos)), bigEndian)
		if err := s.skip(nbytes); err != nil {
			return locate(l.name, "storages", hdrAt, &keyError{key, err})
		}
		st.Key, st.Location = key, loc
		if l.mapLoc != nil {
			st.Location = l.mapLoc(loc)
		}
		objects[key] = st
	}
	at := s.pos
	vv, err := s.pickle(nil)
	if err != nil {
		return err
	}
	views, ok := vv.(*pickle.List)
	if !ok {
		return &Error{File: l.name, Record: "storages", Offset: at, Err: errorf(ErrFormat, "storage views are %T", vv)}
	}
	for _, it := range views.Items {
		t, ok := it.(pickle.Tuple)
		if !ok || len(t) != 4 {
			return &Error{File: l.name, Record: "storages", Offset: at, Err: errorf(ErrFormat, "storage view %s", shortRepr(it))}
		}
		target, ok1 := tarKey(t[0])
		rootKey, ok2 := tarKey(t[1])
		off, e1 := asInt(t[2], "view offset")
		numel, e2 := asInt(t[3], "view numel")
		root, ok3 := objects[rootKey].(*tensor.Storage)
		if !ok1 || !ok2 || !ok3 || e1 != nil || e2 != nil {
			return &Error{File: l.name, Record: "storages", Offset: at, Err: errorf(ErrFormat, "storage view %s", shortRepr(it))}
		}
		es := int64(root.DType.Size())
		bo, ok4 := mulCheck(off, es)
		bn, ok5 := mulCheck(numel, es)
		if !ok4 || !ok5 || bo > root.NBytes || bn > root.NBytes-bo {
			return &Error{File: l.name, Record: "storages", Offset: at, Key: target, Err: errorf(ErrTensorBounds, "view [%d, +%d) of storage %q", off, numel, rootKey)}
		}
		b, err := root.Bytes()
		if err != nil {
			return &Error{File: l.name, Record: "storages", Offset: at, Key: rootKey, Err: err}
		}
		vs := tensor.NewStorage(root.DType, b[bo:bo+bn:bo+bn])
		vs.Key, vs.Location = target, root.Location
		objects[target] = vs
	}

	// tensors: pickle(n), n × [pickle((key, storage_id, type)), i32 ndim, pad, sizes, strides, offset]
	m = members["tensors"]
	s = l.newStreamReader("tensors", m.off, m.off+m.size)
	nv, err = s.pickle(nil)
	if err != nil {
		return err
	}
	if n, ok = nv.(int64); !ok || n < 0 || n > m.size {
		return &Error{File: l.name, Record: "tensors", Offset: m.off, Err: errorf(ErrFormat, "tensor count %s", shortRepr(nv))}
	}
	for i := int64(0); i < n; i++ {
		at := s.pos
		hv, err := s.pickle(nil)
		if err != nil {
			return err
		}
		h, ok := hv.(pickle.Tuple)
		if !ok || len(h) != 3 {
			return &Error{File: l.name, Record: "tensors", Offset: at, Err: errorf(ErrFormat, "tensor header %s", shortRepr(hv))}
		}
		key, ok1 := tarKey(h[0])
		sk, ok2 := tarKey(h[1])
		if !ok1 || !ok2 {
			return &Error{File: l.name, Record: "tensors", Offset: at, Err: errorf(ErrFormat, "tensor header %s", shortRepr(hv))}
		}
		st, ok := objects[sk].(*tensor.Storage)
		if !ok {
			return &Error{File: l.name, Record: "tensors", Offset: at, Key: key, Err: errorf(ErrMissingRecord, "storage %q", sk)}
		}
		b, err := s.fixed(8)
		if err != nil {
			return locate(l.name, "tensors", at, &keyError{key, err})
		}
		ndim := int64(int32(binary.LittleEndian.Uint32(b)))
		if ndim < 0 || ndim > 64 {
			return &Error{File: l.name, Record: "tensors", Offset: at, Key: key, Err: errorf(ErrFormat, "tensor with %d dimensions", ndim)}
		}
		b, err = s.fixed(int(16*ndim + 8))
		if err != nil {
			return locate(l.name, "tensors", at, &keyError{key, err})
		}
		t := &tensor.Tensor{Storage: st, DType: st.DType, Shape: make([]int64, ndim), Strides: make([]int64, ndim)}
		for d := int64(0); d < ndim; d++ {
			t.Shape[d] = readInt64LE(b[8*d:])
			t.Strides[d] = readInt64LE(b[8*(ndim+d):])
		}
		t.Offset = readInt64LE(b[16*ndim:])
		if err := t.Validate(); err != nil {
			return &Error{File: l.name, Record: "tensors", Offset: at, Key: key, Err: fmt.Errorf("%w: %w", ErrTensorBounds, err)}
		}
		objects[key] = t
	}

	// pickle: the object, with persistent ids naming the objects above.
	m = members["pickle"]
	s = l.newStreamReader("pickle", m.off, m.off+m.size)
	root, err := s.pickle(func(id pickle.Value) (pickle.Value, error) {
		if t, ok := id.(pickle.Tuple); ok && len(t) > 0 { // (class, source file, source): the class, inert
			return t[0], nil
		}
		key, ok := tarKey(id)
		if !ok {
			return nil, errorf(ErrInvalid, "persistent id %s", shortRepr(id))
		}
		v, ok := objects[key]
		if !ok {
			return nil, &keyError{key, errorf(ErrMissingRecord, "no tensor or storage with this key")}
		}
		return v, nil
	})
	if err != nil {
		return err
	}
	return l.interpret(root, "pickle", func(key string, _ tensor.DType, _, _ int64) (*tensor.Storage, error) {
		return nil, errorf(ErrMissingRecord, "storage %q", key)
	})
}
