package pth

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// splice is the pickle.Splicer of zip-format data.pkl records: it reads one
// tensor written by torch.save straight from the bytes, as the generic
// decoder followed by reduceEarly would build it, without the persistent-id
// tuple, the size and stride tuples, the backward-hooks OrderedDict and the
// argument tuple that the generic machine builds and throws away. In a
// state_dict of small tensors those are most of the pickle: this is what
// makes opening a 20,000-tensor file fast (BENCHMARKS.md).
//
// The pattern, as torch.save writes it (protocol 2; 4 and 5 differ only in
// SHORT_BINUNICODE and MEMOIZE, which are accepted too), starting at the MARK
// after the _rebuild_tensor_v2 global:
//
//	MARK                                        arguments of _rebuild_tensor_v2
//	  MARK str GET str str int TUPLE [put]      ('storage', <Class>Storage, key, location, numel)
//	  BINPERSID
//	  int                                       storage offset
//	  ints [put]  ints [put]                    size, stride
//	  NEWFALSE | NEWTRUE                        requires_grad
//	  GET(OrderedDict) EMPTY_TUPLE REDUCE [put] backward hooks
//	TUPLE [put] REDUCE [put]
//
// where every str is a BINUNICODE/SHORT_BINUNICODE with an optional put or a
// GET of a str, the storage class is a GET of a global (a GLOBAL opcode ends
// the splice: globals are always left to the decoder, which reports them),
// and ints are BININT1/BININT2/BININT/LONG1. Anything else — another opcode,
// a FRAME boundary, a 7th (metadata) argument, a tensor the checks refuse —
// declines, and the generic machine decodes that tensor and reports any
// error with its usual context. Memo writes of the intermediate values are
// recorded opaque (pickle.Splice.PutOpaque); decodePickleIn decodes the pickle again
// without the splicer in the never-seen case that one is fetched.
func (in *interpreter) splice(s *pickle.Splice) (pickle.Value, int, bool) {
	if s.Callable != in.earlyG {
		in.earlyG, in.earlyOK = s.Callable, canonicalName(s.Callable) == "torch._utils._rebuild_tensor_v2"
	}
	if !in.earlyOK {
		return nil, 0, false
	}
	p := splicer{s: s, b: s.Input, refuse: s.Refuse}
	if !p.op(pickle.OpMark) { // the arguments
		return nil, 0, false
	}
	if !p.op(pickle.OpMark) { // the persistent id
		return nil, 0, false
	}
	// the persistent id
	kind, ok1 := p.str()
	cls, ok2 := p.global()
	key, ok3 := p.str()
	loc, ok4 := p.str()
	numel, ok5 := p.int()
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || kind != "storage" || numel < 0 ||
		!p.op(pickle.OpTuple) || !p.putOpaque() || !p.op(pickle.OpBinPersID) {
		return nil, 0, false
	}
	off, ok := p.int()
	if !ok {
		return nil, 0, false
	}
	// size and stride, read into scratch space and copied by keepTensor
	dims := &in.scratchDims
	shape, ok1 := p.ints(dims[:0:maxSpliceDims])
	strides, ok2 := p.ints(dims[maxSpliceDims:maxSpliceDims])
	if !ok1 || !ok2 {
		return nil, 0, false
	}
	var requiresGrad bool
	switch {
	case p.op(pickle.OpNewFalse):
	case p.op(pickle.OpNewTrue):
		requiresGrad = true
	default:
		return nil, 0, false
	}
	hooks, ok := p.global()
	if ok && hooks != in.hooksG {
		in.hooksG, in.hooksOK = hooks, canonicalName(hooks) == "collections.OrderedDict"
	}
	if !ok || !in.hooksOK || !p.op(pickle.OpEmptyTuple) ||
		!p.op(pickle.OpReduce) || !p.putOpaque() || !p.op(pickle.OpTuple) || !p.putOpaque() || !p.op(pickle.OpReduce) {
		return nil, 0, false
	}
	// build the tensor as storagePID + reduceEarly do
	// the storage class: the same few over and over
	if cls != in.classG {
		in.classDT, in.classOK = parseStorageClass(cls.Name)
		in.classG = cls
	}
	if !in.classOK {
		return nil, 0, false
	}
	ref := makeStorageRef(in.classDT, cls, key, loc, numel)
	st, err := in.storage(&ref, ref.dtype)
	if err != nil {
		return nil, 0, false
	}
	t := &in.scratchTensor
	*t = tensor.Tensor{Storage: st, DType: st.DType, Shape: shape, Strides: strides, Offset: off, RequiresGrad: requiresGrad}
	if validateTensor(t) != nil {
		return nil, 0, false
	}
	t = in.keepTensor(t)
	if !p.put(t) {
		return nil, 0, false
	}
	in.spliced++
	return t, p.i, true
}

// maxSpliceDims bounds the tensors splice reads; higher ones go the generic way.
const maxSpliceDims = 16

// noDims is the sizes and strides of every spliced 0-dim tensor: capacity 0,
// so sharing it shares nothing.
var noDims = []int64{}

// keepTensor copies t (whose sizes and strides may be scratch) into slabs
// the interpreter allocates a few hundred tensors at a time: one allocation
// per tensor fewer than new, and less for the collector to trace. A slab
// lives as long as any of its tensors; a slab's elements are never shared.
func (in *interpreter) keepTensor(t *tensor.Tensor) *tensor.Tensor {
	n := len(t.Shape) + len(t.Strides)
	if len(in.tensorSlab) == 0 {
		in.tensorSlab = make([]tensor.Tensor, 256)
	}
	if len(in.dimSlab) < n {
		in.dimSlab = make([]int64, max(1024, n))
	}
	dims := in.dimSlab[:n:n]
	in.dimSlab = in.dimSlab[n:]
	if n == 0 {
		dims = noDims // empty, not nil, as the generic way builds a 0-dim tensor
	}
	out := &in.tensorSlab[0]
	in.tensorSlab = in.tensorSlab[1:]
	*out = *t
	out.Shape = dims[:len(t.Shape):len(t.Shape)]
	out.Strides = dims[len(t.Shape):]
	copy(out.Shape, t.Shape)
	copy(out.Strides, t.Strides)
	return out
}

// splicer reads opcodes for splice. Every method reports false when the
// input does not continue as asked (leaving p.i anywhere: the splice is then
// declined as a whole).
type splicer struct {
	s      *pickle.Splice
	b      []byte
	i      int
	refuse *pickle.OpSet // weights-only's refused opcodes (nil: none)
}

// next reports whether opcode c comes next and may be read: an opcode the
// decoder refuses is left for it to report.
func (p *splicer) next(c byte) bool {
	return p.i < len(p.b) && p.b[p.i] == c && (p.refuse == nil || !p.refuse[c])
}

// op consumes opcode c if it comes next.
func (p *splicer) op(c byte) bool {
	if p.next(c) {
		p.i++
		return true
	}
	return false
}

// memoIndex consumes a BINGET/LONG_BINGET (get) or BINPUT/LONG_BINPUT (put)
// and returns its index; ok is false when the next opcode is not one.
func (p *splicer) memoIndex(short, long byte) (int64, bool) {
	switch {
	case p.i+2 <= len(p.b) && p.next(short):
		p.i += 2
		return int64(p.b[p.i-1]), true
	case p.i+5 <= len(p.b) && p.next(long):
		p.i += 5
		return int64(binary.LittleEndian.Uint32(p.b[p.i-4:])), true
	}
	return 0, false
}

// put consumes an optional memo write of v.
func (p *splicer) put(v pickle.Value) bool {
	if idx, ok := p.memoIndex(pickle.OpBinPut, pickle.OpLongBinPut); ok {
		p.s.Put(idx, v)
	} else if p.op(pickle.OpMemoize) {
		p.s.Put(p.s.MemoizeIndex(), v)
	}
	return true
}

// putOpaque consumes an optional memo write of a value splice does not build.
func (p *splicer) putOpaque() bool {
	if idx, ok := p.memoIndex(pickle.OpBinPut, pickle.OpLongBinPut); ok {
		p.s.PutOpaque(idx)
	} else if p.op(pickle.OpMemoize) {
		p.s.PutOpaque(p.s.MemoizeIndex())
	}
	return true
}

// get consumes a memo GET and returns the value.
func (p *splicer) get() (pickle.Value, bool) {
	idx, ok := p.memoIndex(pickle.OpBinGet, pickle.OpLongBinGet)
	if !ok {
		return nil, false
	}
	return p.s.Get(idx)
}

// str consumes a str: a GET of one, or a BINUNICODE/SHORT_BINUNICODE of
// valid UTF-8 (anything else is left to the decoder's own UTF-8 handling)
// with an optional memo write.
func (p *splicer) str() (string, bool) {
	var n, at int
	switch {
	case p.i+5 <= len(p.b) && p.next(pickle.OpBinUnicode):
		n, at = int(binary.LittleEndian.Uint32(p.b[p.i+1:])), p.i+5
	case p.i+2 <= len(p.b) && p.next(pickle.OpShortBinUnicode):
		n, at = int(p.b[p.i+1]), p.i+2
	default:
		v, ok := p.get()
		s, isStr := v.(string)
		return s, ok && isStr
	}
	if n > len(p.b)-at || !utf8.Valid(p.b[at:at+n]) {
		return "", false
	}
	s, ok := p.s.String(p.b[at : at+n])
	if !ok {
		return "", false
	}
	op := p.i
	p.i = at + n
	// The memo keeps the string's place in the input, not the string: a
	// storage's name is seldom fetched again (only for a shared storage).
	if idx, ok := p.memoIndex(pickle.OpBinPut, pickle.OpLongBinPut); ok {
		p.s.PutString(idx, op)
	} else if p.op(pickle.OpMemoize) {
		p.s.PutString(p.s.MemoizeIndex(), op)
	}
	return s, true
}

// global consumes a GET of a global.
func (p *splicer) global() (pickle.Global, bool) {
	v, ok := p.get()
	g, isG := v.(pickle.Global)
	return g, ok && isG
}

// int consumes BININT1, BININT2, BININT or a LONG1 of at most 8 bytes, read as
// the decoder reads them.
func (p *splicer) int() (int64, bool) {
	b, i := p.b, p.i
	if i < len(b) && p.refuse != nil && p.refuse[b[i]] {
		return 0, false
	}
	switch {
	case i+2 <= len(b) && b[i] == pickle.OpBinInt1:
		p.i += 2
		return int64(b[i+1]), true
	case i+3 <= len(b) && b[i] == pickle.OpBinInt2:
		p.i += 3
		return int64(binary.LittleEndian.Uint16(b[i+1:])), true
	case i+5 <= len(b) && b[i] == pickle.OpBinInt:
		p.i += 5
		return int64(int32(binary.LittleEndian.Uint32(b[i+1:]))), true
	case i+2 <= len(b) && b[i] == pickle.OpLong1:
		n := int(b[i+1])
		if n > 8 || i+2+n > len(b) {
			return 0, false
		}
		var x int64
		for k := n - 1; k >= 0; k-- {
			x = x<<8 | int64(b[i+2+k])
		}
		if n > 0 && n < 8 && b[i+2+n-1]&0x80 != 0 { // negative: sign-extend
			x -= 1 << (8 * n)
		}
		p.i += 2 + n
		return x, true
	}
	return 0, false
}

// ints consumes a tuple of ints (EMPTY_TUPLE, TUPLE1/2/3 or MARK … TUPLE)
// with an optional memo write, appending them to buf (which must have room
// for maxSpliceDims).
func (p *splicer) ints(buf []int64) ([]int64, bool) {
	if p.op(pickle.OpEmptyTuple) {
		return buf, p.putOpaque()
	}
	marked := p.op(pickle.OpMark)
	for len(buf) < cap(buf) {
		x, ok := p.int()
		if !ok {
			break
		}
		buf = append(buf, x)
	}
	switch {
	case marked && p.op(pickle.OpTuple):
	case !marked && len(buf) == 1 && p.op(pickle.OpTuple1):
	case !marked && len(buf) == 2 && p.op(pickle.OpTuple2):
	case !marked && len(buf) == 3 && p.op(pickle.OpTuple3):
	default:
		return nil, false
	}
	return buf, p.putOpaque()
}
