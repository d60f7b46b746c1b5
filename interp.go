package pth

import (
	"fmt"
	"math/big"

	"github.com/pthkit/pth/internal/safeglobals"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Interpretation turns the inert values the pickle machine produced into the
// values PyTorch would have built: each *pickle.Object whose callable is a known
// global is handed to its rebuild function (the table below); every other
// object is copied with interpreted children and stays inert. Nothing is
// resolved by reflection and nothing runs.

// rebuildFunc builds a value from a call (or instantiation) of a known global.
type rebuildFunc func(in *interpreter, o *pickle.Object) (Value, error)

// rebuilders maps "module.name" (after safeglobals.Canonical) to its rebuild function.
var rebuilders map[string]rebuildFunc

func init() {
	rebuilders = map[string]rebuildFunc{
		"torch._utils._rebuild_tensor":                        rebuildTensorV1,
		"torch._utils._rebuild_tensor_v2":                     rebuildTensorV2,
		"torch._utils._rebuild_tensor_v3":                     rebuildTensorV3,
		"torch._utils._rebuild_parameter":                     rebuildParameter,
		"torch._utils._rebuild_parameter_with_state":          rebuildParameter,
		"torch._utils._rebuild_qtensor":                       rebuildQTensor,
		"torch._utils._rebuild_sparse_tensor":                 rebuildSparse,
		"torch._utils._rebuild_sparse_csr_tensor":             rebuildSparse,
		"torch._utils._rebuild_meta_tensor_no_storage":        rebuildMeta,
		"torch._utils._rebuild_device_tensor_from_cpu_tensor": rebuildDeviceFromCPU,
		"torch._tensor._rebuild_from_type_v2":                 rebuildFromTypeV2,
		"collections.OrderedDict":                             rebuildOrderedDict,
		"collections.Counter":                                 rebuildCounter,
		"torch.Size":                                          rebuildSize,
		"torch.device":                                        rebuildDevice,
		"_codecs.encode":                                      rebuildCodecsEncode,
		"builtins.set":                                        rebuildSet,
		"builtins.frozenset":                                  rebuildSet,
		"builtins.complex":                                    rebuildComplex,
		"builtins.bytearray":                                  rebuildByteArray,
		"numpy.core.multiarray._reconstruct":                  rebuildNDArray,
		"numpy._core.multiarray._reconstruct":                 rebuildNDArray,
		"numpy.core.multiarray.scalar":                        rebuildNumpyScalar,
		"numpy._core.multiarray.scalar":                       rebuildNumpyScalar,
		"numpy.dtype":                                         rebuildNumpyDType,
	}
}

// maxInterpDepth bounds recursion on hostile, deeply nested trees.
const maxInterpDepth = 20000

// storageRef is what a persistent id resolves to while decoding: a reference
// to a storage that interpretation turns into a *tensor.Storage.
type storageRef struct {
	key      string
	dtype    tensor.DType
	untyped  bool  // the class was UntypedStorage: numel counts bytes
	numel    int64 // elements of dtype (bytes when untyped)
	location string
	// view (legacy view_metadata): a slice of the root storage key
	viewKey          string
	viewOff, viewLen int64
	isView           bool
}

// storageSource opens the bytes of a storage key: it returns a resident or lazy
// storage of dtype dt holding nbytes bytes starting byteOff bytes into the record.
type storageSource func(key string, dt tensor.DType, byteOff, nbytes int64) (*tensor.Storage, error)

type storageCacheKey struct {
	key string
	dt  tensor.DType
}

type interpreter struct {
	open   storageSource
	mapLoc func(string) string
	// storages caches opened storages by key (string keys hash fastest);
	// storagesDT holds those asked for again with another dtype (an
	// UntypedStorage viewed by tensors of several dtypes) and views.
	storages   map[string]*tensor.Storage
	storagesDT map[storageCacheKey]*tensor.Storage
	// byNum holds the storages of keys "0", "1", … (torch.save's zip keys)
	// by number: a slice index instead of hashing a string per tensor.
	byNum    []*tensor.Storage
	seen     map[any]Value
	sizeHint int
	// spliced counts the tensors splice read; the last storage class and
	// backward-hooks global it met, and what they mean.
	spliced int
	classG  pickle.Global
	classDT tensor.DType
	classOK bool
	hooksG  pickle.Global
	hooksOK bool
	// slabs of keepTensor, and splice's scratch space
	tensorSlab    []tensor.Tensor
	dimSlab       []int64
	scratchTensor tensor.Tensor
	scratchDims   [2 * maxSpliceDims]int64
	depth         int
	// tree is set when the decoded value references no container twice
	// (pickle.Decoder.Shared is false): then nothing is interpreted twice
	// and seen need not be consulted.
	tree bool
	// The rebuilder of the last global looked up: state_dicts name the same
	// few over and over.
	// earlyG is the last callable reduceEarly saw, earlyOK whether it is
	// _rebuild_tensor_v2.
	earlyG  pickle.Global
	earlyOK bool
	lastG   pickle.Global
	lastFn  func(*interpreter, *pickle.Object) (Value, error)
}

// reduceEarly is pickle.Options.Reduce: it builds the tensors of
// torch._utils._rebuild_tensor_v2 calls over a storage while the pickle is
// decoded, sparing the Object and its later interpretation. Anything else, and
// any call it cannot rebuild cleanly, it leaves to the interpreter (which then
// reports the error with its full context).
func (in *interpreter) reduceEarly(callable pickle.Value, args pickle.Tuple) (pickle.Value, bool, error) {
	g, ok := callable.(pickle.Global)
	// A 7th argument is the metadata of a conjugate or negative view: the full
	// rebuild (rebuildTensorV2) applies it.
	if !ok || len(args) != 6 {
		return nil, false, nil
	}
	if g != in.earlyG {
		in.earlyG, in.earlyOK = g, canonicalName(g) == "torch._utils._rebuild_tensor_v2"
	}
	if !in.earlyOK {
		return nil, false, nil
	}
	if _, ok := args[0].(*storageRef); !ok {
		return nil, false, nil
	}
	t, err := in.buildTensor(args[0], tensor.Invalid, args[1], args[2], args[3])
	if err != nil {
		return nil, false, nil
	}
	rg, ok := args[4].(bool)
	if !ok {
		return nil, false, nil
	}
	t.RequiresGrad = rg
	return t, true, nil
}

// busy marks, in seen, an object whose rebuild is under way.
type busy struct{}

// rebuilder returns the rebuild function of g (nil when it has none).
func (in *interpreter) rebuilder(g pickle.Global) func(*interpreter, *pickle.Object) (Value, error) {
	if in.lastFn != nil && g == in.lastG {
		return in.lastFn
	}
	fn := rebuilders[canonicalName(g)]
	if fn != nil {
		in.lastG, in.lastFn = g, fn
	}
	return fn
}

// newInterpreter returns an interpreter; sizeHint (the pickle's length) presizes
// its tables.
func newInterpreter(open storageSource, mapLoc func(string) string, sizeHint int) *interpreter {
	return &interpreter{
		open:     open,
		mapLoc:   mapLoc,
		storages: map[string]*tensor.Storage{},
		// seen is presized by interpretIn when the tree has shared parts.
		seen: map[any]Value{},
		// A state_dict's pickle spends about 100 bytes per tensor.
		byNum:    make([]*tensor.Storage, 0, min(sizeHint/96, 1<<20)),
		sizeHint: sizeHint,
	}
}

// cached returns the storage first opened for key (of any dtype).
func (in *interpreter) cached(key string) (*tensor.Storage, bool) {
	if n, ok := numericKey(key); ok && n < len(in.byNum) && in.byNum[n] != nil {
		return in.byNum[n], true
	}
	// keys cache left to the map: others, and numbers that were too large
	// for byNum when first seen
	s, ok := in.storages[key]
	return s, ok
}

// cache records the first storage opened for key.
func (in *interpreter) cache(key string, s *tensor.Storage) {
	if n, ok := numericKey(key); ok && n <= 2*len(in.byNum)+1024 {
		if n >= len(in.byNum) {
			in.byNum = append(in.byNum, make([]*tensor.Storage, n+1-len(in.byNum))...)
		}
		in.byNum[n] = s
		return
	}
	in.storages[key] = s
}

// numericKey parses the decimal storage keys torch.save writes ("0", "17",
// no sign, no leading zero) up to 9 digits.
func numericKey(key string) (int, bool) {
	if len(key) == 0 || len(key) > 9 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// canonicalName returns "module.name" after PyTorch's and CPython's renames.
func canonicalName(g pickle.Global) string {
	m, n := safeglobals.Canonical(g.Module, g.Name)
	return m + "." + n
}

// value interprets v.
func (in *interpreter) value(v Value) (Value, error) {
	switch v.(type) {
	case nil, bool, int64, *big.Int, float64, string, []byte, pickle.ByteArray, pickle.PersistentID, *tensor.Tensor:
		return v, nil // leaves, most of a state_dict: no depth to count
	}
	// Counted without a defer: value has too many returns for an
	// open-coded one, and a deferred call per value showed in profiles.
	in.depth++
	r, err := in.nested(v)
	in.depth--
	return r, err
}

// nested is value for the values that may hold others.
func (in *interpreter) nested(v Value) (Value, error) {
	if in.depth > maxInterpDepth {
		return nil, errorf(pickle.ErrLimit, "values nested deeper than %d", maxInterpDepth)
	}
	switch x := v.(type) {
	case pickle.Global:
		if x.Module == "torch" {
			if _, ok := tensor.ParseTorchName(x.Name); ok {
				return DType(x.Name), nil
			}
		}
		return v, nil
	case pickle.Tuple:
		// Tuples shared through the memo are interpreted once: a pickle can nest
		// shared tuples to describe an exponentially large tree.
		var k tupleIdentity
		shared := false
		if !in.tree {
			k, shared = tupleKey(x)
		}
		if shared {
			if r, ok := in.seen[k]; ok {
				return r, nil
			}
		}
		out := make(pickle.Tuple, len(x))
		for i, e := range x {
			iv, err := in.value(e)
			if err != nil {
				return nil, err
			}
			out[i] = iv
		}
		if shared {
			in.seen[k] = out
		}
		return out, nil
	case *pickle.List:
		if !in.tree {
			if r, ok := in.seen[x]; ok {
				return r, nil
			}
		}
		out := &pickle.List{Items: make([]Value, len(x.Items))}
		if !in.tree {
			in.seen[x] = out
		}
		for i, e := range x.Items {
			iv, err := in.value(e)
			if err != nil {
				return nil, err
			}
			out.Items[i] = iv
		}
		return out, nil
	case *pickle.Dict:
		if r, ok := in.seen[x]; ok {
			return r, nil
		}
		out := pickle.NewDictSize(len(x.Entries))
		in.seen[x] = out
		if err := in.fillDict(out, x.Entries); err != nil {
			return nil, err
		}
		return out, nil
	case *pickle.Set:
		return x, nil
	case *storageRef:
		return in.storage(x, x.dtype)
	case *pickle.Object:
		return in.object(x)
	}
	return v, nil
}

// tupleIdentity identifies a tuple by its backing array, as CPython's memo
// identifies it by id().
type tupleIdentity struct {
	p *pickle.Value
	n int
}

// tupleKey returns the identity of a tuple worth remembering: one that holds
// containers (only nesting can make sharing blow up; flat tuples such as sizes
// and strides are cheap to revisit and far too many to track).
func tupleKey(t pickle.Tuple) (tupleIdentity, bool) {
	for _, e := range t {
		switch e.(type) {
		case pickle.Tuple, *pickle.List, *pickle.Dict, *pickle.Object, *pickle.Set:
			return tupleIdentity{&t[0], len(t)}, true
		}
	}
	return tupleIdentity{}, false
}

// fillDict sets the interpreted entries into d (keys stay as decoded).
func (in *interpreter) fillDict(d *pickle.Dict, entries []pickle.Entry) error {
	for _, e := range entries {
		iv, err := in.value(e.Value)
		if err != nil {
			return &keyError{key: keyName(e.Key), err: err}
		}
		d.Set(e.Key, iv)
	}
	return nil
}

func (in *interpreter) object(o *pickle.Object) (Value, error) {
	if in.tree {
		// Interpreted once: no record needed.
		if g, ok := o.Callable.(pickle.Global); ok {
			if fn := in.rebuilder(g); fn != nil {
				r, err := fn(in, o)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", g, err)
				}
				return r, nil
			}
		}
		return in.inert(o)
	}
	if r, ok := in.seen[o]; ok {
		if _, b := r.(busy); b {
			return nil, errorf(ErrInvalid, "object refers to itself while being rebuilt")
		}
		return r, nil
	}
	if g, ok := o.Callable.(pickle.Global); ok {
		if fn := in.rebuilder(g); fn != nil {
			in.seen[o] = busy{}
			r, err := fn(in, o)
			if err != nil {
				delete(in.seen, o)
				return nil, fmt.Errorf("%s: %w", g, err)
			}
			in.seen[o] = r
			return r, nil
		}
	}
	return in.inert(o)
}

// inert copies o with interpreted children.
func (in *interpreter) inert(o *pickle.Object) (Value, error) {
	out := &pickle.Object{Kind: o.Kind, Built: o.Built}
	in.seen[o] = out
	var err error
	if out.Callable, err = in.value(o.Callable); err != nil {
		return nil, err
	}
	if a, err := in.value(o.Args); err != nil {
		return nil, err
	} else if o.Args != nil {
		out.Args = a.(pickle.Tuple)
	}
	if o.Kwargs != nil {
		out.Kwargs = pickle.NewDict()
		if err := in.fillDict(out.Kwargs, o.Kwargs.Entries); err != nil {
			return nil, err
		}
	}
	if o.Built {
		if out.State, err = in.value(o.State); err != nil {
			return nil, err
		}
	}
	for _, e := range o.Items {
		v, err := in.value(e.Value)
		if err != nil {
			return nil, &keyError{key: keyName(e.Key), err: err}
		}
		out.Items = append(out.Items, pickle.Entry{Key: e.Key, Value: v})
	}
	for _, a := range o.Appended {
		v, err := in.value(a)
		if err != nil {
			return nil, err
		}
		out.Appended = append(out.Appended, v)
	}
	return out, nil
}

// storage resolves a storage reference to a storage of dtype dt (the reference's
// own dtype, or a tensor's for _rebuild_tensor_v3 over an UntypedStorage).
func (in *interpreter) storage(r *storageRef, dt tensor.DType) (*tensor.Storage, error) {
	ck := storageCacheKey{r.key, dt}
	if r.isView {
		ck.key = r.viewKey + "\x00view"
	}
	cached, taken := in.cached(ck.key)
	if taken && cached.DType == dt {
		return cached, nil
	}
	if s, ok := in.storagesDT[ck]; ok {
		return s, nil
	}
	es := int64(dt.Size())
	if es <= 0 {
		return nil, &keyError{r.key, errorf(ErrInvalid, "storage dtype %v has no element size", dt)}
	}
	nbytes, ok := mulCheck(r.numel, int64(r.elemSize()))
	if !ok || r.numel < 0 {
		return nil, &keyError{r.key, errorf(ErrInvalid, "storage numel %d", r.numel)}
	}
	var off int64
	if r.isView {
		o, ok1 := mulCheck(r.viewOff, int64(r.elemSize()))
		n, ok2 := mulCheck(r.viewLen, int64(r.elemSize()))
		if !ok1 || !ok2 || r.viewOff < 0 || r.viewLen < 0 || o > nbytes || n > nbytes-o {
			return nil, &keyError{r.viewKey, errorf(ErrTensorBounds, "view [%d, +%d) of storage %q with %d elements", r.viewOff, r.viewLen, r.key, r.numel)}
		}
		off, nbytes = o, n
	}
	if nbytes%es != 0 {
		return nil, &keyError{r.key, errorf(ErrInvalid, "%d bytes is not a whole number of %v elements", nbytes, dt)}
	}
	s, err := in.open(r.key, dt, off, nbytes)
	if err != nil {
		return nil, &keyError{r.key, err}
	}
	s.Key = r.key
	if r.isView {
		s.Key = r.viewKey
	}
	s.Location = r.location
	if in.mapLoc != nil {
		s.Location = in.mapLoc(r.location)
	}
	if !taken {
		in.cache(ck.key, s)
	} else {
		if in.storagesDT == nil {
			in.storagesDT = map[storageCacheKey]*tensor.Storage{}
		}
		in.storagesDT[ck] = s
	}
	return s, nil
}

func (r *storageRef) elemSize() int {
	if r.untyped {
		return 1
	}
	return r.dtype.Size()
}

// mulCheck returns a*b and whether it did not overflow (a, b ≥ 0).
func mulCheck(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	if a != 0 && b > (1<<63-1)/a {
		return 0, false
	}
	return a * b, true
}

// ---- argument helpers ----

func argN(o *pickle.Object, min, max int) error {
	if len(o.Args) < min || len(o.Args) > max {
		if min == max {
			return errorf(ErrInvalid, "%d arguments, want %d", len(o.Args), min)
		}
		return errorf(ErrInvalid, "%d arguments, want %d to %d", len(o.Args), min, max)
	}
	return nil
}

func asInt(v Value, what string) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, errorf(ErrInvalid, "%s is %T, want int", what, v)
}

func asBool(v Value, what string) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case nil:
		return false, nil
	}
	return false, errorf(ErrInvalid, "%s is %T, want bool", what, v)
}

func asFloat(v Value, what string) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	}
	return 0, errorf(ErrInvalid, "%s is %T, want float", what, v)
}

// asInts accepts a tuple, list or torch.Size of ints (interpreted or not).
func (in *interpreter) asInts(v Value, what string) ([]int64, error) {
	if t, ok := v.(pickle.Tuple); ok { // the common case, without copying the tuple first
		if out, ok := flatInts(t); ok {
			return out, nil
		}
	}
	v, err := in.value(v)
	if err != nil {
		return nil, err
	}
	var items []Value
	switch x := v.(type) {
	case Size:
		return append([]int64{}, x...), nil
	case pickle.Tuple:
		items = x
	case *pickle.List:
		items = x.Items
	default:
		return nil, errorf(ErrInvalid, "%s is %T, want a tuple of ints", what, v)
	}
	out := make([]int64, len(items))
	for i, e := range items {
		n, err := asInt(e, what)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// flatInts converts a tuple of int64s.
func flatInts(t pickle.Tuple) ([]int64, bool) {
	out := make([]int64, len(t))
	for i, e := range t {
		n, ok := e.(int64)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

func (in *interpreter) asTensor(v Value, what string) (*tensor.Tensor, error) {
	iv, err := in.value(v)
	if err != nil {
		return nil, err
	}
	switch x := iv.(type) {
	case *tensor.Tensor:
		return x, nil
	case *Parameter:
		return x.Tensor, nil
	}
	return nil, errorf(ErrInvalid, "%s is %T, want a tensor", what, iv)
}

func asDType(v Value, what string) (DType, error) {
	switch x := v.(type) {
	case DType:
		return x, nil
	case pickle.Global:
		if x.Module == "torch" {
			if _, ok := tensor.ParseTorchName(x.Name); ok {
				return DType(x.Name), nil
			}
		}
	}
	return "", errorf(ErrInvalid, "%s is %s, want a torch dtype", what, shortRepr(v))
}

// ---- tensors ----

// buildTensor makes a validated view over the storage argument.
func (in *interpreter) buildTensor(stArg Value, dt tensor.DType, offArg, sizeArg, strideArg Value) (*tensor.Tensor, error) {
	ref, ok := stArg.(*storageRef)
	var st *tensor.Storage
	var err error
	switch {
	case ok:
		want := ref.dtype
		if dt != tensor.Invalid && ref.untyped {
			want = dt
		}
		st, err = in.storage(ref, want)
	default:
		var sv Value
		sv, err = in.value(stArg)
		if err == nil {
			if s, isS := sv.(*tensor.Storage); isS {
				st = s
			} else {
				err = errorf(ErrInvalid, "storage argument is %T (a persistent id was expected)", sv)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if dt == tensor.Invalid {
		dt = st.DType
	}
	off, err := asInt(offArg, "storage offset")
	if err != nil {
		return nil, err
	}
	shape, err := in.asInts(sizeArg, "size")
	if err != nil {
		return nil, err
	}
	strides, err := in.asInts(strideArg, "stride")
	if err != nil {
		return nil, err
	}
	t := &tensor.Tensor{Storage: st, DType: dt, Shape: shape, Strides: strides, Offset: off}
	if err := validateTensor(t); err != nil {
		return nil, &keyError{st.Key, err}
	}
	return t, nil
}

// validateTensor checks a tensor against its storage (tensor.Validate, which
// also knows the packed sub-byte quantized dtypes).
func validateTensor(t *tensor.Tensor) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrTensorBounds, err)
	}
	return nil
}

func rebuildTensorV1(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 4, 4); err != nil {
		return nil, err
	}
	return in.buildTensor(o.Args[0], tensor.Invalid, o.Args[1], o.Args[2], o.Args[3])
}

func rebuildTensorV2(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 6, 7); err != nil {
		return nil, err
	}
	t, err := in.buildTensor(o.Args[0], tensor.Invalid, o.Args[1], o.Args[2], o.Args[3])
	if err != nil {
		return nil, err
	}
	if t.RequiresGrad, err = asBool(o.Args[4], "requires_grad"); err != nil {
		return nil, err
	}
	if len(o.Args) == 7 {
		if err := in.tensorMetadata(t, o.Args[6]); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// tensorMetadata applies the metadata argument of _rebuild_tensor_v2/_v3
// (torch._utils.set_tensor_metadata): a dict whose keys "conj" and "neg" set the
// conjugate and negative bits. As in PyTorch 2.6 (torch._C._set_tensor_metadata),
// a key sets its bit whatever its value, and None or an empty dict sets none.
// PyTorch 2.6 ignores other keys; pth refuses them (ErrUnsupported naming the key),
// since a later PyTorch may give them a meaning that changes the tensor's values.
// A conjugate bit on a non-complex tensor is invalid (PyTorch's loader fails an
// internal assertion on it); a negative bit on a tensor without negation (bool,
// quantized, float8_e8m0fnu) is unsupported (PyTorch has no kernel to resolve it).
func (in *interpreter) tensorMetadata(t *tensor.Tensor, arg Value) error {
	v, err := in.value(arg)
	if err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	d, ok := v.(*pickle.Dict)
	if !ok {
		return errorf(ErrInvalid, "tensor metadata is %T, want a dict", v)
	}
	for _, e := range d.Entries {
		k, _ := e.Key.(string)
		switch k {
		case "conj":
			t.Conj = true
		case "neg":
			t.Neg = true
		default:
			return errorf(ErrUnsupported, "tensor metadata key %s (PyTorch writes only 'conj' and 'neg')", pickle.Sprint(e.Key))
		}
		if _, err := asBool(e.Value, "tensor metadata "+k); err != nil {
			return err
		}
	}
	switch {
	case t.Conj && !t.DType.IsComplex():
		return errorf(ErrInvalid, "conjugate bit on a %s tensor (only complex tensors have one)", t.DType)
	case t.Neg && t.Validate() != nil:
		return errorf(ErrUnsupported, "negative bit on a %s tensor (it has no negation)", t.DType)
	}
	return nil
}

func rebuildTensorV3(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 7, 8); err != nil {
		return nil, err
	}
	dtv, err := in.value(o.Args[6])
	if err != nil {
		return nil, err
	}
	d, err := asDType(dtv, "dtype")
	if err != nil {
		return nil, err
	}
	dt, ok := d.TensorDType()
	if !ok {
		return nil, errorf(ErrUnsupported, "dtype %s", d)
	}
	t, err := in.buildTensor(o.Args[0], dt, o.Args[1], o.Args[2], o.Args[3])
	if err != nil {
		return nil, err
	}
	if t.RequiresGrad, err = asBool(o.Args[4], "requires_grad"); err != nil {
		return nil, err
	}
	if len(o.Args) == 8 {
		if err := in.tensorMetadata(t, o.Args[7]); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func rebuildParameter(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 3, 4); err != nil {
		return nil, err
	}
	t, err := in.asTensor(o.Args[0], "parameter data")
	if err != nil {
		return nil, err
	}
	p := &Parameter{Tensor: t}
	if p.RequiresGrad, err = asBool(o.Args[1], "requires_grad"); err != nil {
		return nil, err
	}
	if len(o.Args) == 4 {
		if p.State, err = in.value(o.Args[3]); err != nil {
			return nil, err
		}
		if p.State == nil {
			p.State = pickle.NewDict()
		}
	}
	return p, nil
}

func qschemeName(v Value) string {
	if g, ok := v.(pickle.Global); ok && g.Module == "torch" {
		return g.Name
	}
	return ""
}

func rebuildQTensor(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 7, 7); err != nil {
		return nil, err
	}
	t, err := in.buildTensor(o.Args[0], tensor.Invalid, o.Args[1], o.Args[2], o.Args[3])
	if err != nil {
		return nil, err
	}
	qp, ok := o.Args[4].(pickle.Tuple)
	if !ok || len(qp) == 0 {
		return nil, errorf(ErrInvalid, "quantizer params are %T", o.Args[4])
	}
	q := &tensor.Quantization{Scheme: qschemeName(qp[0])}
	switch q.Scheme {
	case "per_tensor_affine", "per_tensor_symmetric":
		if len(qp) != 3 {
			return nil, errorf(ErrInvalid, "%d per-tensor quantizer params", len(qp))
		}
		if q.Scale, err = asFloat(qp[1], "scale"); err != nil {
			return nil, err
		}
		if q.ZeroPoint, err = asInt(qp[2], "zero point"); err != nil {
			return nil, err
		}
	case "per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams":
		if len(qp) != 4 {
			return nil, errorf(ErrInvalid, "%d per-channel quantizer params", len(qp))
		}
		if q.Scales, err = in.asTensor(qp[1], "scales"); err != nil {
			return nil, err
		}
		if q.ZeroPoints, err = in.asTensor(qp[2], "zero points"); err != nil {
			return nil, err
		}
		axis, err := asInt(qp[3], "axis")
		if err != nil {
			return nil, err
		}
		if axis < 0 || axis >= int64(len(t.Shape)) {
			return nil, errorf(ErrInvalid, "quantization axis %d for %d dimensions", axis, len(t.Shape))
		}
		q.Axis = int(axis)
	default:
		return nil, errorf(ErrUnsupported, "qscheme %s", shortRepr(qp[0]))
	}
	t.Quant = q
	if t.RequiresGrad, err = asBool(o.Args[5], "requires_grad"); err != nil {
		return nil, err
	}
	return t, nil
}

// layoutName extracts "torch.sparse_coo" from _get_layout('torch.sparse_coo') or a bare global.
func layoutName(v Value) string {
	switch x := v.(type) {
	case *pickle.Object:
		if len(x.Args) == 1 {
			if s, ok := x.Args[0].(string); ok {
				return s
			}
		}
	case pickle.Global:
		return x.Module + "." + x.Name
	}
	return ""
}

func rebuildSparse(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 2, 2); err != nil {
		return nil, err
	}
	sp := &SparseTensor{Layout: layoutName(o.Args[0])}
	if g, ok := o.Callable.(pickle.Global); ok {
		sp.rebuild = g.Name
	}
	data, ok := o.Args[1].(pickle.Tuple)
	if !ok {
		return nil, errorf(ErrInvalid, "sparse data is %T", o.Args[1])
	}
	nt := 2 // COO: indices, values
	if sp.Layout != "torch.sparse_coo" {
		nt = 3
	}
	if len(data) < nt+1 {
		return nil, errorf(ErrInvalid, "sparse %s data has %d items", sp.Layout, len(data))
	}
	for i := 0; i < nt; i++ {
		t, err := in.asTensor(data[i], "sparse component")
		if err != nil {
			return nil, err
		}
		sp.Components = append(sp.Components, t)
	}
	size, err := in.asInts(data[nt], "sparse size")
	if err != nil {
		return nil, err
	}
	sp.Size = size
	for _, e := range data[nt+1:] {
		v, err := in.value(e)
		if err != nil {
			return nil, err
		}
		sp.Extra = append(sp.Extra, v)
	}
	if nt == 2 {
		sp.Indices, sp.Values = sp.Components[0], sp.Components[1]
		// The invariants PyTorch checks on load: indices is int64 [ndim, nnz],
		// values has nnz rows, and every index lies inside the size.
		if err := checkCOO(sp); err != nil {
			return nil, err
		}
	} else {
		sp.Values = sp.Components[2]
	}
	return sp, nil
}

func checkCOO(sp *SparseTensor) error {
	ix, vals := sp.Indices, sp.Values
	if ix.DType != tensor.Int64 || len(ix.Shape) != 2 || len(vals.Shape) < 1 || ix.Shape[1] != vals.Shape[0] {
		return errorf(ErrInvalid, "sparse COO indices %v %v and values %v do not match", ix.DType, ix.Shape, vals.Shape)
	}
	if ix.Shape[0] > int64(len(sp.Size)) || int64(len(sp.Size)) != ix.Shape[0]+int64(len(vals.Shape))-1 {
		return errorf(ErrInvalid, "sparse COO size %v does not match indices %v and values %v", sp.Size, ix.Shape, vals.Shape)
	}
	return nil
}

func rebuildMeta(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 4, 4); err != nil {
		return nil, err
	}
	dtv, err := in.value(o.Args[0])
	if err != nil {
		return nil, err
	}
	m := &MetaTensor{}
	if m.DType, err = asDType(dtv, "dtype"); err != nil {
		return nil, err
	}
	if m.Shape, err = in.asInts(o.Args[1], "size"); err != nil {
		return nil, err
	}
	if m.Strides, err = in.asInts(o.Args[2], "stride"); err != nil {
		return nil, err
	}
	if len(m.Shape) != len(m.Strides) {
		return nil, errorf(ErrInvalid, "meta tensor with %d sizes and %d strides", len(m.Shape), len(m.Strides))
	}
	if m.RequiresGrad, err = asBool(o.Args[3], "requires_grad"); err != nil {
		return nil, err
	}
	return m, nil
}

// rebuildDeviceFromCPU returns the CPU tensor; the device argument is recorded in
// the storage's location.
func rebuildDeviceFromCPU(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 4, 4); err != nil {
		return nil, err
	}
	t, err := in.asTensor(o.Args[0], "tensor")
	if err != nil {
		return nil, err
	}
	if dev, ok := o.Args[2].(string); ok && t.Storage != nil {
		t.Storage.Location = dev
	}
	if t.RequiresGrad, err = asBool(o.Args[3], "requires_grad"); err != nil {
		return nil, err
	}
	return t, nil
}

func rebuildFromTypeV2(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 4, 4); err != nil {
		return nil, err
	}
	fn, ok := o.Args[0].(pickle.Global)
	if !ok {
		return nil, errorf(ErrInvalid, "rebuild function is %T", o.Args[0])
	}
	typ, ok := o.Args[1].(pickle.Global)
	if !ok {
		return nil, errorf(ErrInvalid, "tensor type is %T", o.Args[1])
	}
	args, ok := o.Args[2].(pickle.Tuple)
	if !ok {
		return nil, errorf(ErrInvalid, "rebuild arguments are %T", o.Args[2])
	}
	inner, err := in.value(&pickle.Object{Kind: pickle.Reduce, Callable: fn, Args: args})
	if err != nil {
		return nil, err
	}
	state, err := in.value(o.Args[3])
	if err != nil {
		return nil, err
	}
	if canonicalName(typ) == "torch._tensor.Tensor" || canonicalName(typ) == "torch.Tensor" {
		if d, ok := state.(*pickle.Dict); state == nil || ok && d.Len() == 0 {
			return inner, nil
		}
	}
	return &SubclassTensor{Tensor: inner, Type: typ, Func: fn, State: state}, nil
}

// ---- containers and small values ----

func rebuildOrderedDict(in *interpreter, o *pickle.Object) (Value, error) {
	od := &OrderedDict{}
	if in.tree && len(o.Args) == 0 {
		// A tree: nothing else holds o, so its items become the dict's entries
		// in place (a state_dict of 20,000 tensors need not be copied).
		for i := range o.Items {
			iv, err := in.value(o.Items[i].Value)
			if err != nil {
				return nil, &keyError{key: keyName(o.Items[i].Key), err: err}
			}
			o.Items[i].Value = iv
		}
		od.Dict = pickle.NewDictOf(o.Items)
		o.Items = nil
		return in.orderedDictState(od, o)
	}
	od.Dict = pickle.NewDictSize(len(o.Items))
	in.seen[o] = od // entries may refer back to the dict
	// OrderedDict(iterable) is legal but torch never writes it; items usually come from SETITEMS.
	if len(o.Args) == 1 {
		if err := in.addPairs(od.Dict, o.Args[0]); err != nil {
			return nil, err
		}
	} else if len(o.Args) > 1 {
		return nil, errorf(ErrInvalid, "OrderedDict with %d arguments", len(o.Args))
	}
	if err := in.fillDict(od.Dict, o.Items); err != nil {
		return nil, err
	}
	return in.orderedDictState(od, o)
}

// orderedDictState applies o's BUILD state (the _metadata attribute, others) to od.
func (in *interpreter) orderedDictState(od *OrderedDict, o *pickle.Object) (Value, error) {
	if o.Built && o.State != nil {
		st, err := in.value(o.State)
		if err != nil {
			return nil, err
		}
		d, ok := stateDict(st)
		if !ok {
			return nil, errorf(ErrInvalid, "OrderedDict state is %T", st)
		}
		for _, e := range d.Entries {
			if e.Key == "_metadata" {
				if md, ok := e.Value.(*pickle.Dict); ok {
					od.Metadata, od.metadataPlain = md, true
					continue
				}
				if md, ok := e.Value.(*OrderedDict); ok {
					od.Metadata = md.Dict
					continue
				}
			}
			if od.Attrs == nil {
				od.Attrs = pickle.NewDict()
			}
			od.Attrs.Set(e.Key, e.Value)
		}
	}
	return od, nil
}

// stateDict extracts the __dict__ part of a BUILD state (a dict, or (dict, slots)).
func stateDict(st Value) (*pickle.Dict, bool) {
	switch x := st.(type) {
	case *pickle.Dict:
		return x, true
	case *OrderedDict:
		return x.Dict, true
	case pickle.Tuple:
		if len(x) == 2 {
			if x[0] == nil {
				if d, ok := x[1].(*pickle.Dict); ok {
					return d, true
				}
				return pickle.NewDict(), true
			}
			return stateDict(x[0])
		}
	}
	return nil, false
}

// addPairs adds a dict's entries or an iterable of pairs to d.
func (in *interpreter) addPairs(d *pickle.Dict, v Value) error {
	iv, err := in.value(v)
	if err != nil {
		return err
	}
	switch x := iv.(type) {
	case *pickle.Dict:
		for _, e := range x.Entries {
			d.Set(e.Key, e.Value)
		}
	case *OrderedDict:
		for _, e := range x.Entries {
			d.Set(e.Key, e.Value)
		}
	case *pickle.List:
		for _, it := range x.Items {
			p, ok := it.(pickle.Tuple)
			if !ok || len(p) != 2 {
				return errorf(ErrInvalid, "dict item %T is not a pair", it)
			}
			d.Set(p[0], p[1])
		}
	default:
		return errorf(ErrInvalid, "dict argument is %T", iv)
	}
	return nil
}

func rebuildCounter(in *interpreter, o *pickle.Object) (Value, error) {
	c := &Counter{Dict: pickle.NewDict()}
	in.seen[o] = c
	if len(o.Args) == 1 {
		if err := in.addPairs(c.Dict, o.Args[0]); err != nil {
			return nil, err
		}
	} else if len(o.Args) > 1 {
		return nil, errorf(ErrInvalid, "Counter with %d arguments", len(o.Args))
	}
	if err := in.fillDict(c.Dict, o.Items); err != nil {
		return nil, err
	}
	return c, nil
}

func rebuildSize(in *interpreter, o *pickle.Object) (Value, error) {
	if len(o.Args) == 0 {
		return Size{}, nil
	}
	if err := argN(o, 1, 1); err != nil {
		return nil, err
	}
	s, err := in.asInts(o.Args[0], "torch.Size")
	return Size(s), err
}

func rebuildDevice(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 1, 2); err != nil {
		return nil, err
	}
	typ, ok := o.Args[0].(string)
	if !ok {
		return nil, errorf(ErrInvalid, "device type is %T", o.Args[0])
	}
	d := Device{Type: typ, Index: -1}
	if len(o.Args) == 2 && o.Args[1] != nil {
		i, err := asInt(o.Args[1], "device index")
		if err != nil {
			return nil, err
		}
		d.Index = i
	}
	return d, nil
}

func rebuildCodecsEncode(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 1, 2); err != nil {
		return nil, err
	}
	s, ok := o.Args[0].(string)
	if !ok {
		return nil, errorf(ErrInvalid, "_codecs.encode of %T", o.Args[0])
	}
	enc := "utf-8"
	if len(o.Args) == 2 {
		if enc, ok = o.Args[1].(string); !ok {
			return nil, errorf(ErrInvalid, "encoding is %T", o.Args[1])
		}
	}
	switch enc {
	case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1":
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, errorf(ErrInvalid, "character U+%04X does not encode as latin-1", r)
			}
			b = append(b, byte(r))
		}
		return b, nil
	case "utf-8", "utf8", "ascii":
		return []byte(s), nil
	}
	return nil, errorf(ErrUnsupported, "_codecs.encode with encoding %q", enc)
}

func rebuildSet(in *interpreter, o *pickle.Object) (Value, error) {
	g, _ := o.Callable.(pickle.Global)
	set := &pickle.Set{Frozen: g.Name == "frozenset"}
	if len(o.Args) == 0 {
		return set, nil
	}
	if err := argN(o, 1, 1); err != nil {
		return nil, err
	}
	v, err := in.value(o.Args[0])
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case *pickle.List:
		set.Items = x.Items
	case pickle.Tuple:
		set.Items = x
	case *pickle.Set:
		set.Items = x.Items
	default:
		return nil, errorf(ErrInvalid, "set of %T", v)
	}
	return set, nil
}

func rebuildComplex(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 1, 2); err != nil {
		return nil, err
	}
	re, err := asFloat(o.Args[0], "real part")
	if err != nil {
		return nil, err
	}
	var im float64
	if len(o.Args) == 2 {
		if im, err = asFloat(o.Args[1], "imaginary part"); err != nil {
			return nil, err
		}
	}
	return complex(re, im), nil
}

func rebuildByteArray(in *interpreter, o *pickle.Object) (Value, error) {
	if len(o.Args) == 0 {
		return pickle.ByteArray{}, nil
	}
	if err := argN(o, 1, 2); err != nil {
		return nil, err
	}
	v := o.Args[0]
	if len(o.Args) == 2 { // bytearray(str, encoding)
		b, err := rebuildCodecsEncode(in, &pickle.Object{Args: o.Args})
		if err != nil {
			return nil, err
		}
		v = b
	}
	v, err := in.value(v)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case []byte:
		return pickle.ByteArray(append([]byte{}, x...)), nil
	case pickle.ByteArray:
		return x, nil
	case *pickle.List:
		b := make(pickle.ByteArray, len(x.Items))
		for i, e := range x.Items {
			n, err := asInt(e, "byte")
			if err != nil || n < 0 || n > 255 {
				return nil, errorf(ErrInvalid, "bytearray item %s", shortRepr(e))
			}
			b[i] = byte(n)
		}
		return b, nil
	}
	return nil, errorf(ErrInvalid, "bytearray of %T", v)
}
