package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"unsafe"
)

// EncoderOptions configure an Encoder.
type EncoderOptions struct {
	// Protocol is 2 (the default and only value for now).
	Protocol int
	// MaxDepth bounds the nesting of the value written (0 means 10 000);
	// deeper or endlessly recursive trees give an error wrapping ErrLimit.
	MaxDepth int
}

// Encoder writes protocol-2 pickles making the same opcode choices as CPython's
// C pickler (pickle.dumps(obj, protocol=2)), so a value decoded from such a
// pickle is written back byte for byte:
//
//   - memo: BINPUT/LONG_BINPUT after each memoizable object, BINGET/LONG_BINGET
//     when the same object appears again. Identity follows CPython's id():
//     *List, *Dict, *Set and *Object by pointer; a Tuple, string or []byte by its
//     backing array (so a value decoded from a memo GET is shared again, and two
//     equal strings built separately are not); Globals, "", and bytes of length 0
//     or 1 by value (CPython keeps single objects for those).
//   - ints: BININT1/BININT2/BININT, else LONG1 (LONG4 past 255 bytes); floats BINFLOAT;
//     str BINUNICODE; None, NEWTRUE, NEWFALSE.
//   - tuples: EMPTY_TUPLE, TUPLE1–3, else MARK … TUPLE.
//   - lists and dicts: EMPTY_LIST/EMPTY_DICT then APPENDS/SETITEMS in batches of
//     1000 (a single item as APPEND/SETITEM; a dict whose size is a multiple of
//     1000 ends with an empty MARK SETITEMS, as CPython's batch_dict_exact does).
//   - bytes as REDUCE(_codecs.encode, (latin-1 str, "latin1")), b"" as
//     REDUCE(__builtin__.bytes, ()); bytearray as REDUCE(__builtin__.bytearray, (bytes,));
//     *Set as REDUCE(__builtin__.set or frozenset, ([items],)).
//   - Global as GLOBAL, with module "builtins" written as "__builtin__" (fix_imports);
//     Ext as EXT1/EXT2/EXT4; PersistentID as its id then BINPERSID.
//   - *Object by Kind: REDUCE (callable, args), NEWOBJ (class, args), OBJ, INST;
//     NEWOBJ_EX is written as the protocol-4 opcode (protocol 2 has no equivalent
//     that keeps the value inert). Then what was recorded on it: APPEND(S),
//     SETITEM(S) in batches like CPython's iterator batching, and BUILD.
type Encoder struct {
	w        io.Writer
	buf      bytes.Buffer
	memoPtr  map[unsafe.Pointer]ptrRec // identities with an address (most)
	memoVal  map[identityKey]int       // by-value identities, and address collisions
	nextMemo int
	keep     []Value // keeps memoized values alive so identities stay unique
	maxDepth int
}

// NewEncoder returns an encoder writing to w. opts may be nil.
func NewEncoder(w io.Writer, opts *EncoderOptions) *Encoder {
	e := &Encoder{w: w, maxDepth: 10000}
	if opts != nil && opts.MaxDepth > 0 {
		e.maxDepth = opts.MaxDepth
	}
	if opts != nil && opts.Protocol != 0 && opts.Protocol != 2 {
		e.maxDepth = -1 // Encode reports the unsupported protocol
	}
	return e
}

// ErrEncode is wrapped by errors about values that cannot be pickled
// (a Go type that is not a Value, a Global whose name contains a newline, …).
var ErrEncode = errors.New("pickle: cannot encode")

// Encode writes v as one complete pickle (PROTO 2 … STOP). Nothing is written
// to the underlying writer when an error occurs.
func (e *Encoder) Encode(v Value) error {
	if e.maxDepth < 0 {
		return fmt.Errorf("%w: only protocol 2 is written", ErrUnsupported)
	}
	e.buf.Reset()
	e.memoPtr = make(map[unsafe.Pointer]ptrRec)
	e.memoVal = make(map[identityKey]int)
	e.nextMemo = 0
	e.keep = e.keep[:0]
	e.buf.Write([]byte{OpProto, 2})
	if err := e.save(v, 0); err != nil {
		return err
	}
	e.buf.WriteByte(OpStop)
	_, err := e.w.Write(e.buf.Bytes())
	e.keep = e.keep[:0]
	return err
}

// Marshal encodes v as one protocol-2 pickle.
func Marshal(v Value) ([]byte, error) {
	var b bytes.Buffer
	if err := NewEncoder(&b, nil).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (e *Encoder) op(b ...byte) { e.buf.Write(b) }

func (e *Encoder) memoize(v Value) {
	idx := e.nextMemo
	e.nextMemo++
	if k, ok := identity(v); ok {
		e.store(k, idx)
		e.keep = append(e.keep, v)
	}
	if idx < 256 {
		e.op(OpBinPut, byte(idx))
	} else {
		e.op(OpLongBinPut)
		e.buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(idx)))
	}
}

// ptrRec is a memo entry keyed by address; n and kind tell apart a tuple or
// string and a shorter one starting at the same address.
type ptrRec struct {
	idx  int
	n    int
	kind uint8
}

func (e *Encoder) store(k identityKey, idx int) {
	if k.p == nil {
		e.memoVal[k] = idx
		return
	}
	if r, ok := e.memoPtr[k.p]; ok && (r.n != k.n || r.kind != k.kind) {
		e.memoVal[k] = idx
		return
	}
	e.memoPtr[k.p] = ptrRec{idx: idx, n: k.n, kind: k.kind}
}

func (e *Encoder) lookup(k identityKey) (int, bool) {
	if k.p != nil {
		r, ok := e.memoPtr[k.p]
		if !ok {
			return 0, false
		}
		if r.n == k.n && r.kind == k.kind {
			return r.idx, true
		}
	}
	idx, ok := e.memoVal[k]
	return idx, ok
}

func (e *Encoder) get(idx int) {
	if idx < 256 {
		e.op(OpBinGet, byte(idx))
	} else {
		e.op(OpLongBinGet)
		e.buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(idx)))
	}
}

// memoGet writes a GET and returns true when v was already memoized.
func (e *Encoder) memoGet(v Value) bool {
	if k, ok := identity(v); ok {
		if idx, ok := e.lookup(k); ok {
			e.get(idx)
			return true
		}
	}
	return false
}

func (e *Encoder) save(v Value, depth int) error {
	if depth > e.maxDepth {
		return fmt.Errorf("%w: value nests deeper than %d (or is endlessly recursive)", ErrLimit, e.maxDepth)
	}
	depth++
	switch x := v.(type) {
	case nil:
		e.op(OpNone)
		return nil
	case bool:
		if x {
			e.op(OpNewTrue)
		} else {
			e.op(OpNewFalse)
		}
		return nil
	case int:
		e.saveInt(int64(x))
		return nil
	case int32:
		e.saveInt(int64(x))
		return nil
	case int64:
		e.saveInt(x)
		return nil
	case *big.Int:
		if x == nil {
			return fmt.Errorf("%w: nil *big.Int", ErrEncode)
		}
		if x.IsInt64() {
			e.saveInt(x.Int64())
		} else {
			e.saveLong(x)
		}
		return nil
	case float64:
		e.op(OpBinFloat)
		e.buf.Write(binary.BigEndian.AppendUint64(nil, math.Float64bits(x)))
		return nil
	case float32:
		return e.save(float64(x), depth)
	case string:
		if e.memoGet(x) {
			return nil
		}
		e.op(OpBinUnicode)
		if uint64(len(x)) > math.MaxUint32 {
			return fmt.Errorf("%w: str of %d bytes is too long for protocol 2", ErrEncode, len(x))
		}
		e.buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(x))))
		e.buf.WriteString(x)
		e.memoize(x)
		return nil
	case []byte:
		if e.memoGet(x) {
			return nil
		}
		if err := e.saveBytes(x, depth); err != nil {
			return err
		}
		e.memoize(x)
		return nil
	case ByteArray:
		if e.memoGet(x) {
			return nil
		}
		if err := e.save(Global{"__builtin__", "bytearray"}, depth); err != nil {
			return err
		}
		if len(x) == 0 {
			e.op(OpEmptyTuple)
		} else {
			// bytes(obj) is a new object each time, never shared.
			if err := e.saveBytes(x, depth); err != nil {
				return err
			}
			e.memoize(nil)
			e.op(OpTuple1)
			e.memoize(nil)
		}
		e.op(OpReduce)
		e.memoize(x)
		return nil
	case Tuple:
		return e.saveTuple(x, depth)
	case *List:
		if e.memoGet(x) {
			return nil
		}
		e.op(OpEmptyList)
		e.memoize(x)
		return e.batchAppendsExact(x.Items, depth)
	case *Dict:
		if e.memoGet(x) {
			return nil
		}
		e.op(OpEmptyDict)
		e.memoize(x)
		return e.batchSetItemsExact(x.Entries, depth)
	case *Set:
		if e.memoGet(x) {
			return nil
		}
		g := Global{"__builtin__", "set"}
		if x.Frozen {
			g.Name = "frozenset"
		}
		if err := e.save(g, depth); err != nil {
			return err
		}
		// CPython: save_reduce(set, (list(obj),)): a fresh list in a fresh tuple.
		e.op(OpEmptyList)
		e.memoize(nil)
		if err := e.batchAppendsExact(x.Items, depth); err != nil {
			return err
		}
		e.op(OpTuple1)
		e.memoize(nil)
		e.op(OpReduce)
		e.memoize(x)
		return nil
	case Global:
		if e.memoGet(x) {
			return nil
		}
		mod := x.Module
		if mod == "builtins" {
			mod = "__builtin__"
		}
		if strings.ContainsAny(mod, "\n") || strings.ContainsAny(x.Name, "\n") {
			return fmt.Errorf("%w: global %q contains a newline", ErrEncode, x.String())
		}
		e.op(OpGlobal)
		e.buf.WriteString(mod + "\n" + x.Name + "\n")
		e.memoize(x)
		return nil
	case Ext:
		c := uint32(x.Code)
		switch {
		case x.Code <= 0:
			return fmt.Errorf("%w: extension code %d <= 0", ErrEncode, x.Code)
		case c <= 0xff:
			e.op(OpExt1, byte(c))
		case c <= 0xffff:
			e.op(OpExt2, byte(c), byte(c>>8))
		default:
			e.op(OpExt4)
			e.buf.Write(binary.LittleEndian.AppendUint32(nil, c))
		}
		return nil
	case PersistentID:
		if err := e.save(x.ID, depth); err != nil {
			return err
		}
		e.op(OpBinPersID)
		return nil
	case *Object:
		return e.saveObject(x, depth)
	}
	return fmt.Errorf("%w: Go type %T is not a pickle Value", ErrEncode, v)
}

// saveBytes writes the protocol-2 reduction of a bytes value, without its memo entry.
func (e *Encoder) saveBytes(x []byte, depth int) error {
	if len(x) == 0 {
		if err := e.save(Global{"__builtin__", "bytes"}, depth); err != nil {
			return err
		}
		e.op(OpEmptyTuple, OpReduce)
		return nil
	}
	if err := e.save(Global{"_codecs", "encode"}, depth); err != nil {
		return err
	}
	if err := e.save(latin1Str(x), depth); err != nil {
		return err
	}
	if err := e.save(latin1Name, depth); err != nil {
		return err
	}
	e.op(OpTuple2)
	e.memoize(nil) // the args tuple is a fresh object
	e.op(OpReduce)
	return nil
}

// latin1Singletons are the one-character strings str(b, "latin1") gives for
// one-byte bytes: CPython returns its single shared object for each, so two
// equal one-byte bytes values share the memo entry of their text.
var latin1Singletons = func() (t [256]string) {
	for i := range t {
		t[i] = string([]rune{rune(i)})
	}
	return t
}()

func latin1Str(b []byte) string {
	if len(b) == 1 {
		return latin1Singletons[b[0]]
	}
	return latin1(b)
}

// latin1Name is the one "latin1" string CPython shares between all bytes reductions.
var latin1Name = "latin1"

func (e *Encoder) saveInt(v int64) {
	switch {
	case v >= 0 && v <= 0xff:
		e.op(OpBinInt1, byte(v))
	case v >= 0 && v <= 0xffff:
		e.op(OpBinInt2, byte(v), byte(v>>8))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		e.op(OpBinInt)
		e.buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(v))))
	default:
		e.saveLong(big.NewInt(v))
	}
}

// saveLong writes LONG1/LONG4 with the shortest little-endian two's complement.
func (e *Encoder) saveLong(v *big.Int) {
	b := encodeLong(v)
	if len(b) < 256 {
		e.op(OpLong1, byte(len(b)))
	} else {
		e.op(OpLong4)
		e.buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(b))))
	}
	e.buf.Write(b)
}

// encodeLong returns the shortest little-endian two's complement bytes of v
// (empty for 0), as CPython's encode_long.
func encodeLong(v *big.Int) []byte {
	if v.Sign() == 0 {
		return nil
	}
	n := v.BitLen()/8 + 1
	var u *big.Int
	if v.Sign() > 0 {
		u = v
	} else {
		u = new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(8*n)), v)
	}
	be := u.FillBytes(make([]byte, n))
	out := make([]byte, n)
	for i := range be {
		out[n-1-i] = be[i]
	}
	if v.Sign() < 0 && n > 1 && out[n-1] == 0xff && out[n-2]&0x80 != 0 {
		out = out[:n-1]
	}
	return out
}

func (e *Encoder) saveTuple(t Tuple, depth int) error {
	if len(t) == 0 {
		e.op(OpEmptyTuple)
		return nil
	}
	if e.memoGet(t) {
		return nil
	}
	n := len(t)
	if n > 3 {
		e.op(OpMark)
	}
	for _, it := range t {
		if err := e.save(it, depth); err != nil {
			return err
		}
	}
	// A tuple reached again through its own items is already memoized now.
	if k, ok := identity(t); ok {
		if idx, ok := e.lookup(k); ok {
			if n <= 3 {
				for range n {
					e.op(OpPop)
				}
			} else {
				e.op(OpPopMark)
			}
			e.get(idx)
			return nil
		}
	}
	if n <= 3 {
		e.op(OpTuple1 + byte(n-1))
	} else {
		e.op(OpTuple)
	}
	e.memoize(t)
	return nil
}

// batchAppendsExact writes list items like CPython's batch_list_exact.
func (e *Encoder) batchAppendsExact(items []Value, depth int) error {
	switch len(items) {
	case 0:
		return nil
	case 1:
		if err := e.save(items[0], depth); err != nil {
			return err
		}
		e.op(OpAppend)
		return nil
	}
	for i := 0; i < len(items); i += batchSize {
		e.op(OpMark)
		for _, it := range items[i:min(i+batchSize, len(items))] {
			if err := e.save(it, depth); err != nil {
				return err
			}
		}
		e.op(OpAppends)
	}
	return nil
}

const batchSize = 1000

// batchSetItemsExact writes dict entries like CPython's batch_dict_exact.
func (e *Encoder) batchSetItemsExact(entries []Entry, depth int) error {
	switch len(entries) {
	case 0:
		return nil
	case 1:
		if err := e.saveEntry(entries[0], depth); err != nil {
			return err
		}
		e.op(OpSetItem)
		return nil
	}
	i := 0
	for {
		e.op(OpMark)
		n := 0
		for i < len(entries) && n < batchSize {
			if err := e.saveEntry(entries[i], depth); err != nil {
				return err
			}
			i++
			n++
		}
		e.op(OpSetItems)
		if n < batchSize {
			return nil
		}
	}
}

func (e *Encoder) saveEntry(en Entry, depth int) error {
	if err := e.save(en.Key, depth); err != nil {
		return err
	}
	return e.save(en.Value, depth)
}

// batchAppends writes items like CPython's iterator-based batch_list (a final
// batch of one is a plain APPEND).
func (e *Encoder) batchAppends(items []Value, depth int) error {
	for i := 0; i < len(items); i += batchSize {
		batch := items[i:min(i+batchSize, len(items))]
		if len(batch) == 1 {
			if err := e.save(batch[0], depth); err != nil {
				return err
			}
			e.op(OpAppend)
			continue
		}
		e.op(OpMark)
		for _, it := range batch {
			if err := e.save(it, depth); err != nil {
				return err
			}
		}
		e.op(OpAppends)
	}
	return nil
}

// batchSetItems writes entries like CPython's iterator-based batch_dict.
func (e *Encoder) batchSetItems(entries []Entry, depth int) error {
	for i := 0; i < len(entries); i += batchSize {
		batch := entries[i:min(i+batchSize, len(entries))]
		if len(batch) == 1 {
			if err := e.saveEntry(batch[0], depth); err != nil {
				return err
			}
			e.op(OpSetItem)
			continue
		}
		e.op(OpMark)
		for _, en := range batch {
			if err := e.saveEntry(en, depth); err != nil {
				return err
			}
		}
		e.op(OpSetItems)
	}
	return nil
}

func (e *Encoder) saveObject(o *Object, depth int) error {
	if o == nil {
		return fmt.Errorf("%w: nil *Object", ErrEncode)
	}
	if e.memoGet(o) {
		return nil
	}
	switch o.Kind {
	case Reduce, NewObj:
		if err := e.save(o.Callable, depth); err != nil {
			return err
		}
		if err := e.saveTuple(o.Args, depth); err != nil {
			return err
		}
		if o.Kind == Reduce {
			e.op(OpReduce)
		} else {
			e.op(OpNewObj)
		}
	case NewObjEx:
		if err := e.save(o.Callable, depth); err != nil {
			return err
		}
		if err := e.saveTuple(o.Args, depth); err != nil {
			return err
		}
		kw := o.Kwargs
		if kw == nil {
			kw = NewDict()
		}
		if err := e.save(kw, depth); err != nil {
			return err
		}
		e.op(OpNewObjEx)
	case Obj:
		e.op(OpMark)
		if err := e.save(o.Callable, depth); err != nil {
			return err
		}
		for _, a := range o.Args {
			if err := e.save(a, depth); err != nil {
				return err
			}
		}
		e.op(OpObj)
	case Inst:
		g, ok := o.Callable.(Global)
		if !ok || strings.Contains(g.Module+g.Name, "\n") {
			return fmt.Errorf("%w: INST object needs a Global class, got %s", ErrEncode, typeName(o.Callable))
		}
		e.op(OpMark)
		for _, a := range o.Args {
			if err := e.save(a, depth); err != nil {
				return err
			}
		}
		e.op(OpInst)
		e.buf.WriteString(g.Module + "\n" + g.Name + "\n")
	default:
		return fmt.Errorf("%w: object kind %d", ErrEncode, o.Kind)
	}
	// Saving the arguments may have reached o again through a mutable container.
	if k, ok := identity(o); ok {
		if idx, ok := e.lookup(k); ok {
			e.op(OpPop)
			e.get(idx)
			return nil
		}
	}
	e.memoize(o)
	if err := e.batchAppends(o.Appended, depth); err != nil {
		return err
	}
	if err := e.batchSetItems(o.Items, depth); err != nil {
		return err
	}
	if o.Built {
		if err := e.save(o.State, depth); err != nil {
			return err
		}
		e.op(OpBuild)
	}
	return nil
}
