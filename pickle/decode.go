package pickle

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"unicode/utf8"
	"unsafe"
)

// Options configure a Decoder.
type Options struct {
	// Limits; zero fields take their DefaultLimits value (for the size of the
	// input with Unmarshal, 0 with NewDecoder).
	Limits Limits
	// PersistentLoad, when set, replaces each PERSID/BINPERSID id by its result.
	// When nil the decoder yields PersistentID values.
	PersistentLoad func(id Value) (Value, error)
	// OnGlobal, when set, is called for every GLOBAL, INST and STACK_GLOBAL
	// reference, in stream order, with the offset of its opcode. A non-nil error
	// stops decoding; Decode returns it inside an *OpcodeError.
	OnGlobal func(offset int64, g Global) error
	// Refuse, when set, lists opcodes the decoder refuses: at the first one it
	// stops, before reading the opcode's argument, with an *OpcodeError wrapping
	// ErrRefused (Op names the opcode). Unknown opcodes are refused too when
	// their entry is set.
	Refuse *OpSet
	// Reduce, when set, is offered each REDUCE's callable and arguments before
	// an Object is built. When it returns ok its value is pushed instead, as a
	// leaf; a non-nil error stops decoding. A caller that rebuilds some calls
	// itself (package pth builds tensors this way) saves building the Object
	// and interpreting it later.
	Reduce func(callable Value, args Tuple) (v Value, ok bool, err error)
	// Splicer, when set, may decode recognised stretches of in-memory input
	// itself (see Splicer). Decode then fails with ErrSpliced on input that
	// fetches a value the Splicer did not build; decode such input again
	// without the Splicer.
	Splicer Splicer
}

// OpSet is a set of opcodes, indexed by opcode byte.
type OpSet [256]bool

// Decoder reads pickles from a stream into inert Values.
//
// It reads byte-exactly (see OpReader): after Decode returns, the underlying
// reader is positioned right after the STOP opcode, so a stream of several
// pickles followed by raw bytes (PyTorch's legacy format) can be read in turn.
// Offset reports the bytes consumed so far.
type Decoder struct {
	or    *OpReader
	opts  Options
	lim   Limits
	stack []slot
	marks []int
	// markOffs are the input offsets of the marks; batchOff is that of the
	// mark markedItems last popped (see batchRoom).
	markOffs []int64
	batchOff int64
	// specLeft is how many elements batchRoom may still reserve beyond
	// what has been read: the projections of all containers of one pickle
	// share one allowance proportional to its size, so that input that
	// starts many containers and ends each early cannot make the decoder
	// reserve many times its size (10,000 lists of one batch each reserved
	// 9× their items: a 19 MB pickle took 1.4 GB).
	specLeft int64
	// The memo maps the dense indices picklers write through memo (0: no
	// entry, -1: an entry a Splicer left opaque, k > 0: memoVals[k-1],
	// k <= -2: the string the BINUNICODE opcode at input offset -2-k
	// decodes to, which a Splicer read (Splice.PutString), made on its first
	// GET) and sparse ones through memoMap. Four bytes per index, and
	// sixteen per value built: in a torch.save pickle the splicer leaves
	// five entries in eight opaque and keeps a storage's name as its offset,
	// and the memo is the largest table an open makes.
	//
	// (The decoder's own strings are kept whole: a GET must return the very
	// string the PUT saw, which Encode writes back as a GET. A Splicer's
	// string never reaches the value tree, so a copy serves.)
	memo      []int32
	memoVals  []Value
	memoMap   map[int64]Value
	memoCount int
	elems     int64 // elements charged against lim.MaxElements
	// containers counts the containers built; while it is at most MaxDepth
	// the result cannot nest deeper, and the depth walk at STOP is skipped.
	containers int
	// shared is set once a container is referenced twice (GET or DUP of a
	// container, or one returned by PersistentLoad): from then on the heights
	// kept in the slots may be stale (a shared container can grow after being
	// nested), and STOP measures the result's depth by walking it.
	shared bool
	proto  int
	// scratch serves markedItems.
	scratch []Value
	// splice is reused by every Splicer call.
	splice Splice
}

// slot is a stack entry: a value and the height of its tree (0 for scalars
// and empty containers, 1 + the tallest child otherwise), kept as the values
// are built so that the depth limit needs no walk of the result.
type slot struct {
	v Value
	h int32
}

// NewDecoder returns a decoder reading from r. opts may be nil.
func NewDecoder(r io.Reader, opts *Options) *Decoder {
	d := &Decoder{}
	if opts != nil {
		d.opts = *opts
	}
	d.lim = d.opts.Limits.orDefaults(0)
	d.or = NewOpReader(r, d.lim)
	d.or.rawMemo = true
	d.or.refuse = d.opts.Refuse
	return d
}

// Unmarshal decodes one pickle from data. Bytes after STOP are ignored.
func Unmarshal(data []byte, opts *Options) (Value, error) {
	v, err := NewBytesDecoder(data, opts).Decode()
	if err == io.EOF {
		return nil, &OpcodeError{Offset: 0, Err: fmt.Errorf("%w: empty input", ErrTruncated)}
	}
	return v, err
}

// NewBytesDecoder returns a decoder over data held in memory, faster than
// NewDecoder over a bytes.Reader. Zero Limits fields take their
// DefaultLimits(len(data)) value. opts may be nil.
func NewBytesDecoder(data []byte, opts *Options) *Decoder {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Limits = o.Limits.orDefaults(int64(len(data)))
	d := NewDecoder(nil, &o)
	d.or = newOpReaderBytes(data, d.lim)
	d.or.rawMemo = true
	d.or.refuse = d.opts.Refuse
	// Picklers memoize at most one value per 2 bytes, and a torch.save
	// state_dict about one per 13 (8 per tensor): sized for that once, the
	// memo of a large state_dict never regrows (fresh memory is expensive to
	// touch, and counting the PUT opcodes' bytes costs more than it saves).
	d.memo = make([]int32, 0, min(len(data)/12+16, d.lim.MaxMemo))
	d.memoVals = make([]Value, 0, min(len(data)/32+16, d.lim.MaxMemo))
	return d
}

// Shared reports whether the value last returned by Decode may hold a
// container reachable along more than one path: one fetched by a memo GET or
// DUP, or returned by PersistentLoad. When it is false the value is a tree: no
// Tuple, List, Dict, Set, Object or PersistentID appears in it twice, and none
// contains itself, so a walk of it needs no record of what it has visited.
func (d *Decoder) Shared() bool { return d.shared }

// Offset returns the number of bytes consumed from the reader so far.
func (d *Decoder) Offset() int64 { return d.or.Offset() }

// Decode reads one pickle, up to and including STOP, and returns its value.
// At a clean end of input (no byte read) it returns io.EOF. Errors are
// *OpcodeError values wrapping ErrTruncated, ErrMalformed, ErrLimit or
// ErrUnsupported.
func (d *Decoder) Decode() (Value, error) {
	d.stack = d.stack[:0]
	d.marks = d.marks[:0]
	d.markOffs = d.markOffs[:0]
	d.batchOff = -1
	if r := d.or; r.inMem {
		d.specLeft = (int64(len(r.data)) - r.off) / specBytes
	}
	d.memo = d.memo[:0]
	d.memoVals = d.memoVals[:0]
	d.memoMap = nil
	d.memoCount = 0
	d.containers = 0
	d.shared = false
	d.elems = 0
	d.proto = 0
	first := true
	for {
		if d.or.inMem {
			ran, err := d.fastOps()
			if err != nil {
				return nil, err
			}
			first = first && !ran
		}
		op, err := d.or.Next()
		if err != nil {
			if err == io.EOF {
				if first {
					return nil, io.EOF
				}
				return nil, &OpcodeError{Offset: d.or.Offset(), Op: 0, Err: fmt.Errorf("%w: input ended before STOP", ErrTruncated)}
			}
			return nil, err
		}
		first = false
		if op.Code == OpStop {
			v, h, err := d.popH()
			switch {
			case err != nil:
			case d.shared && d.containers > d.lim.MaxDepth:
				err = d.checkDepth(v)
			case int(h) > d.lim.MaxDepth:
				err = errTooDeep
			}
			if err != nil {
				return nil, &OpcodeError{Offset: op.Offset, Op: op.Code, Err: err}
			}
			// The memo is not cleared here: clearing megabytes of pointers
			// while the collector runs costs a write barrier each, and a
			// decoder is usually dropped after its pickle. The next Decode
			// starts from an empty memo (entries past len are never read).
			clear(d.stack)
			d.stack = d.stack[:0]
			d.memo = d.memo[:0]
			d.memoVals = d.memoVals[:0]
			d.memoMap = nil
			return v, nil
		}
		if err := d.step(op); err != nil {
			return nil, &OpcodeError{Offset: op.Offset, Op: op.Code, Err: err}
		}
	}
}

// fastOps runs, straight from in-memory input, the opcodes that make up most
// of a state_dict's pickle (BININT1, the binary memo GETs and PUTs, MARK,
// short strings) without building an Op for each; they act exactly as in step.
// It stops before any other opcode, a refused one, or one within 5 bytes of
// the end (Next reports truncation), and says whether it ran any.
func (d *Decoder) fastOps() (bool, error) {
	r := d.or
	data := r.data
	ran := false
	for {
		off := r.off
		if off < 0 || off+5 > int64(len(data)) {
			return ran, nil
		}
		code := data[off]
		if r.refuse != nil && r.refuse[code] {
			return ran, nil
		}
		var err error
		switch code {
		case OpBinInt1:
			r.off = off + 2
			err = d.push(int64(data[off+1]))
		case OpBinGet, OpLongBinGet:
			idx := int64(data[off+1])
			r.off = off + 2
			if code == OpLongBinGet {
				idx = int64(binary.LittleEndian.Uint32(data[off+1:]))
				r.off = off + 5
			}
			var v Value
			if v, err = d.memoGet(idx); err == nil {
				err = d.pushShared(slot{v: v})
			}
		case OpBinPut, OpLongBinPut:
			idx := int64(data[off+1])
			r.off = off + 2
			if code == OpLongBinPut {
				idx = int64(binary.LittleEndian.Uint32(data[off+1:]))
				r.off = off + 5
			}
			var v Value
			if v, err = d.top(); err == nil {
				err = d.memoPut(idx, v)
			}
		case OpBinUnicode, OpShortBinUnicode:
			// A short string, as readArg and step read it (a state_dict's keys).
			n, at := int64(data[off+1]), off+2
			if code == OpBinUnicode {
				n, at = int64(binary.LittleEndian.Uint32(data[off+1:])), off+5
			}
			if n <= 0 || n > maxArenaString || n > int64(len(data))-at {
				return ran, nil // the generic way
			}
			r.off = at
			var v any
			if v, err = r.arenaString(int(n)); err == nil {
				err = d.push(v)
			}
		case OpMark:
			if d.opts.Splicer != nil && len(d.stack) > d.floor() {
				if g, ok := d.stack[len(d.stack)-1].v.(Global); ok {
					spliced, serr := d.trySplice(off, g)
					if serr != nil {
						return ran, &OpcodeError{Offset: off, Op: code, Err: serr}
					}
					if spliced {
						ran = true
						continue
					}
				}
			}
			r.off = off + 1
			err = d.step(Op{Code: OpMark, Offset: off})
		default:
			return ran, nil
		}
		ran = true
		if err != nil {
			return ran, &OpcodeError{Offset: off, Op: code, Err: err}
		}
	}
}

// emptyTuple is boxed once: every EMPTY_TUPLE shares it (empty tuples have no identity).
var emptyTuple Value = Tuple{}

// memoIndex returns the memo index of a GET/PUT opcode, from Op.idx when the
// OpReader left Arg nil.
func memoIndex(op Op) int64 {
	if i, ok := op.Arg.(int64); ok {
		return i
	}
	return op.idx
}

func errStack(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// charge accounts n elements against MaxElements.
func (d *Decoder) charge(n int64) error {
	if n < 0 || n > d.lim.MaxElements-d.elems {
		return fmt.Errorf("%w: more than MaxElements=%d elements (counting shared references)", ErrLimit, d.lim.MaxElements)
	}
	d.elems += n
	return nil
}

// push pushes a scalar (a value of height 0).
func (d *Decoder) push(v Value) error {
	return d.pushH(v, 0)
}

// pushH pushes v, whose tree has height h.
func (d *Decoder) pushH(v Value, h int32) error {
	if err := d.charge(1); err != nil {
		return err
	}
	d.stack = append(d.stack, slot{v, h})
	return nil
}

// pushContainer pushes a newly built container of height h and counts it.
func (d *Decoder) pushContainer(v Value, h int32) error {
	d.containers++
	return d.pushH(v, h)
}

func (d *Decoder) pop() (Value, error) {
	v, _, err := d.popH()
	return v, err
}

// popH pops a value and its height.
func (d *Decoder) popH() (Value, int32, error) {
	if len(d.stack) <= d.floor() {
		return nil, 0, errStack("stack underflow")
	}
	s := d.stack[len(d.stack)-1]
	d.stack[len(d.stack)-1] = slot{}
	d.stack = d.stack[:len(d.stack)-1]
	return s.v, s.h, nil
}

func (d *Decoder) top() (Value, error) {
	s, err := d.topSlot()
	if err != nil {
		return nil, err
	}
	return s.v, nil
}

// topSlot returns the top stack entry, whose height a mutation may raise.
func (d *Decoder) topSlot() (*slot, error) {
	if len(d.stack) <= d.floor() {
		return nil, errStack("stack underflow")
	}
	return &d.stack[len(d.stack)-1], nil
}

// grow raises the height of the container in s to hold a child of height h.
func (s *slot) grow(h int32) {
	s.h = max(s.h, h+1)
}

// floor is the stack index below which the current MARK frame may not pop.
func (d *Decoder) floor() int {
	if len(d.marks) == 0 {
		return 0
	}
	return d.marks[len(d.marks)-1]
}

// popMark returns the items above the topmost MARK (a fresh slice) and drops the mark.
func (d *Decoder) popMark() ([]Value, error) {
	items, _, err := d.popMarkH()
	return items, err
}

// markedItems is popMarkH for APPENDS and SETITEMS, which copy the items
// into the container below the mark: it returns them in the decoder's scratch
// slice, valid until dropMarked clears it.
func (d *Decoder) markedItems() ([]Value, int32, error) {
	if len(d.marks) == 0 {
		return nil, 0, errStack("no MARK on the stack")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	d.batchOff = d.markOffs[len(d.markOffs)-1]
	d.markOffs = d.markOffs[:len(d.markOffs)-1]
	d.scratch = d.scratch[:0]
	h := int32(0)
	for _, s := range d.stack[m:] {
		d.scratch = append(d.scratch, s.v)
		h = max(h, s.h+1)
	}
	clear(d.stack[m:])
	d.stack = d.stack[:m]
	return d.scratch, h, nil
}

// dropMarked ends a markedItems call.
func (d *Decoder) dropMarked() {
	clear(d.scratch)
}

// popMarkH is popMark that also returns the height a container of the items
// would have (0 when there are none).
func (d *Decoder) popMarkH() ([]Value, int32, error) {
	if len(d.marks) == 0 {
		return nil, 0, errStack("no MARK on the stack")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	d.markOffs = d.markOffs[:len(d.markOffs)-1]
	items := make([]Value, len(d.stack)-m)
	h := int32(0)
	for i, s := range d.stack[m:] {
		items[i] = s.v
		h = max(h, s.h+1)
	}
	clear(d.stack[m:])
	d.stack = d.stack[:m]
	return items, h, nil
}

func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return ownString(b)
	}
	out := make([]byte, 0, len(b)*2)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return ownString(out)
}

func (d *Decoder) memoPut(idx int64, v Value) error { return d.memoPutAt(idx, v, -1) }

// memoPutAt sets memo entry idx to v, or, when strOff >= 0 (v nil), to the
// string that the string opcode at input offset strOff decodes to, which a
// dense entry keeps as that offset.
func (d *Decoder) memoPutAt(idx int64, v Value, strOff int64) error {
	if idx < 0 {
		return errStack("negative memo index")
	}
	if !d.memoExists(idx) {
		if d.memoCount >= d.lim.MaxMemo {
			return fmt.Errorf("%w: more than MaxMemo=%d memo entries", ErrLimit, d.lim.MaxMemo)
		}
		d.memoCount++
	}
	switch {
	case idx < int64(len(d.memo)):
		d.memoSet(int(idx), v, strOff)
	case d.memoMap == nil && idx <= 2*int64(d.memoCount)+1024 && len(d.memoVals) < math.MaxInt32:
		for int64(len(d.memo)) <= idx {
			d.memo = append(d.memo, 0)
		}
		d.memoSet(int(idx), v, strOff)
	default:
		if d.memoMap == nil {
			d.memoMap = make(map[int64]Value)
		}
		if v == nil && strOff >= 0 {
			v = d.strAt(strOff)
		}
		d.memoMap[idx] = v
	}
	return nil
}

// memoSet sets dense memo entry i (< len(d.memo)) to v, or to the string at
// input offset strOff (>= 0; v may then be nil).
func (d *Decoder) memoSet(i int, v Value, strOff int64) {
	k := d.memo[i]
	if strOff >= 0 && strOff <= math.MaxInt32-2 {
		d.memo[i] = int32(-2 - strOff)
		return
	}
	if v == nil && strOff >= 0 {
		v = d.strAt(strOff)
	}
	switch _, opaque := v.(memoSpliced); {
	case opaque:
		d.memo[i] = -1
	case k > 0:
		d.memoVals[k-1] = v
	default:
		d.memoVals = append(d.memoVals, v)
		d.memo[i] = int32(len(d.memoVals))
	}
}

// memoAppend sets memo entry len(d.memo), a new one in a dense memo
// (len(d.memo) == d.memoCount), as memoPutAt would: trySplice's way for a
// Splicer's puts in order, checked against MaxMemo beforehand.
func (d *Decoder) memoAppend(v Value, strOff int64) {
	d.memo = append(d.memo, 0)
	d.memoSet(len(d.memo)-1, v, strOff)
	d.memoCount++
}

// memoExists reports whether memo entry idx is set.
func (d *Decoder) memoExists(idx int64) bool {
	if idx >= 0 && idx < int64(len(d.memo)) {
		return d.memo[idx] != 0
	}
	if d.memoMap == nil {
		return false
	}
	_, ok := d.memoMap[idx]
	return ok
}

// memoLookup returns memo entry idx as stored (a Splicer's opaque entries
// included), making a string kept as its offset (and keeping it made).
func (d *Decoder) memoLookup(idx int64) (Value, bool) {
	if idx >= 0 && idx < int64(len(d.memo)) {
		switch k := d.memo[idx]; {
		case k > 0:
			return d.memoVals[k-1], true
		case k == -1:
			return memoSpliced{}, true
		case k < -1:
			v := d.strAt(int64(-2 - k))
			d.memoVals = append(d.memoVals, v)
			d.memo[idx] = int32(len(d.memoVals))
			return v, true
		}
		return nil, false
	}
	if d.memoMap == nil {
		return nil, false
	}
	v, ok := d.memoMap[idx]
	return v, ok
}

// strAt returns the string that the string opcode (SHORT_BINUNICODE,
// BINUNICODE, BINUNICODE8) at in-memory input offset off decodes to. That
// opcode was read before (memoSet), so its bytes are there; they are copied
// as OpReader copies them, without charging MaxAlloc again.
func (d *Decoder) strAt(off int64) Value {
	data := d.or.data
	var n, at int64
	switch data[off] {
	case OpShortBinUnicode:
		n, at = int64(data[off+1]), off+2
	case OpBinUnicode:
		n, at = int64(binary.LittleEndian.Uint32(data[off+1:])), off+5
	default: // OpBinUnicode8
		n, at = int64(binary.LittleEndian.Uint64(data[off+1:])), off+9
	}
	return d.or.arenaCopy(data[at : at+n])
}

// memoGet returns memo entry idx for a GET: a missing entry is ErrMalformed,
// one a Splicer wrote without building it ErrSpliced.
func (d *Decoder) memoGet(idx int64) (Value, error) {
	v, ok := d.memoLookup(idx)
	if !ok {
		return nil, fmt.Errorf("%w: memo value not found at index %d", ErrMalformed, idx)
	}
	if _, opaque := v.(memoSpliced); opaque {
		return nil, fmt.Errorf("%w (index %d)", ErrSpliced, idx)
	}
	return v, nil
}

func (d *Decoder) step(op Op) error {
	switch op.Code {
	case OpMark:
		if len(d.marks) >= d.lim.MaxDepth {
			return fmt.Errorf("%w: MARK nesting deeper than MaxDepth=%d", ErrLimit, d.lim.MaxDepth)
		}
		d.marks = append(d.marks, len(d.stack))
		d.markOffs = append(d.markOffs, op.Offset)
		return nil
	case OpPop:
		if len(d.stack) > d.floor() {
			_, err := d.pop()
			return err
		}
		_, err := d.popMark()
		return err
	case OpPopMark:
		_, err := d.popMark()
		return err
	case OpDup:
		v, err := d.topSlot()
		if err != nil {
			return err
		}
		return d.pushShared(*v)
	case OpProto:
		p := op.Arg.(int64)
		if p > 5 {
			return fmt.Errorf("%w: pickle protocol %d", ErrUnsupported, p)
		}
		d.proto = int(p)
		return nil
	case OpFrame:
		return nil
	case OpNone:
		return d.push(nil)
	case OpNewTrue:
		return d.push(true)
	case OpNewFalse:
		return d.push(false)
	case OpInt, OpLong, OpBinInt, OpBinInt1, OpBinInt2, OpLong1, OpLong4, OpFloat, OpBinFloat,
		OpUnicode, OpBinUnicode, OpShortBinUnicode, OpBinUnicode8:
		return d.push(op.Arg)
	case OpBinBytes, OpShortBinBytes, OpBinBytes8:
		return d.push(op.Arg)
	case OpByteArray8:
		return d.push(op.Arg.(ByteArray))
	case OpString, OpBinString, OpShortBinString:
		b := op.Arg.([]byte)
		if err := d.or.charge(int64(len(b))); err != nil {
			return err
		}
		return d.push(latin1(b))
	case OpEmptyTuple:
		return d.push(emptyTuple)
	case OpTuple1, OpTuple2, OpTuple3:
		n := int(op.Code-OpTuple1) + 1
		if len(d.stack)-d.floor() < n {
			return errStack("stack underflow")
		}
		t := make(Tuple, n)
		h := int32(0)
		for i, s := range d.stack[len(d.stack)-n:] {
			t[i] = s.v
			h = max(h, s.h+1)
		}
		clear(d.stack[len(d.stack)-n:])
		d.stack = d.stack[:len(d.stack)-n]
		return d.pushContainer(t, h)
	case OpTuple:
		items, h, err := d.popMarkH()
		if err != nil {
			return err
		}
		return d.pushContainer(Tuple(items), h)
	case OpEmptyList:
		return d.pushContainer(&List{}, 0)
	case OpList:
		items, h, err := d.popMarkH()
		if err != nil {
			return err
		}
		return d.pushContainer(&List{Items: items}, h)
	case OpEmptyDict:
		return d.pushContainer(NewDict(), 0)
	case OpDict:
		items, h, err := d.popMarkH()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return errStack("odd number of items for DICT")
		}
		dict := NewDict()
		for i := 0; i < len(items); i += 2 {
			dict.Set(items[i], items[i+1])
		}
		return d.pushContainer(dict, h)
	case OpEmptySet:
		return d.pushContainer(&Set{}, 0)
	case OpFrozenSet:
		items, h, err := d.popMarkH()
		if err != nil {
			return err
		}
		s := &Set{Frozen: true}
		s.add(items)
		return d.pushContainer(s, h)
	case OpAppend:
		v, h, err := d.popH()
		if err != nil {
			return err
		}
		return d.appendTo([]Value{v}, h+1)
	case OpAppends:
		items, h, err := d.markedItems()
		if err != nil {
			return err
		}
		err = d.appendTo(items, h)
		d.dropMarked()
		return err
	case OpSetItem:
		v, hv, err := d.popH()
		if err != nil {
			return err
		}
		k, hk, err := d.popH()
		if err != nil {
			return err
		}
		return d.setItems([]Value{k, v}, max(hk, hv)+1)
	case OpSetItems:
		items, h, err := d.markedItems()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return errStack("odd number of items for SETITEMS")
		}
		err = d.setItems(items, h)
		d.dropMarked()
		return err
	case OpAddItems:
		items, h, err := d.popMarkH()
		if err != nil {
			return err
		}
		t, err := d.topSlot()
		if err != nil {
			return err
		}
		s, ok := t.v.(*Set)
		if !ok || s.Frozen {
			return fmt.Errorf("%w: ADDITEMS on %s", ErrMalformed, typeName(t.v))
		}
		s.add(items)
		t.h = max(t.h, h)
		return nil
	case OpGet, OpBinGet, OpLongBinGet:
		v, err := d.memoGet(memoIndex(op))
		if err != nil {
			return err
		}
		// The memo keeps no heights: a container fetched from it sets
		// d.shared, after which STOP walks the result.
		return d.pushShared(slot{v: v})
	case OpPut, OpBinPut, OpLongBinPut:
		v, err := d.top()
		if err != nil {
			return err
		}
		return d.memoPut(memoIndex(op), v)
	case OpMemoize:
		v, err := d.top()
		if err != nil {
			return err
		}
		return d.memoPut(int64(d.memoCount), v)
	case OpGlobal:
		g := op.Arg.(Global)
		if err := d.onGlobal(op, g); err != nil {
			return err
		}
		return d.push(g)
	case OpStackGlobal:
		name, err := d.pop()
		if err != nil {
			return err
		}
		mod, err := d.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: STACK_GLOBAL requires str", ErrMalformed)
		}
		g := Global{Module: ms, Name: ns}
		if err := d.onGlobal(op, g); err != nil {
			return err
		}
		return d.push(g)
	case OpExt1, OpExt2, OpExt4:
		code := op.Arg.(int64)
		if code <= 0 {
			return fmt.Errorf("%w: EXT specifies code <= 0", ErrMalformed)
		}
		return d.push(Ext{Code: int32(code)})
	case OpReduce, OpNewObj:
		// An object's height counts its (nil) state, its callable and each
		// argument: 1 + the tallest of them; an argument tuple of height h
		// holds arguments of height at most h-1.
		args, ha, err := d.popH()
		if err != nil {
			return err
		}
		fn, hf, err := d.popH()
		if err != nil {
			return err
		}
		kind, name := Reduce, "REDUCE"
		if op.Code == OpNewObj {
			kind, name = NewObj, "NEWOBJ"
		}
		t, err := asTuple(args, name)
		if err != nil {
			return err
		}
		if kind == Reduce && d.opts.Reduce != nil {
			v, ok, err := d.opts.Reduce(fn, t)
			if err != nil {
				return err
			}
			if ok {
				if isContainer(v) {
					d.shared = true // unknown height, and it may be returned again
				}
				return d.push(v)
			}
		}
		return d.pushContainer(&Object{Kind: kind, Callable: fn, Args: t}, max(1, hf+1, ha))
	case OpNewObjEx:
		kw, hk, err := d.popH()
		if err != nil {
			return err
		}
		args, ha, err := d.popH()
		if err != nil {
			return err
		}
		cls, hc, err := d.popH()
		if err != nil {
			return err
		}
		t, err := asTuple(args, "NEWOBJ_EX")
		if err != nil {
			return err
		}
		kd, ok := kw.(*Dict)
		if !ok {
			return fmt.Errorf("%w: NEWOBJ_EX kwargs must be a dict, got %s", ErrMalformed, typeName(kw))
		}
		return d.pushContainer(&Object{Kind: NewObjEx, Callable: cls, Args: t, Kwargs: kd}, max(1, hc+1, ha, hk+1))
	case OpObj:
		items, h, err := d.popMarkH()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return errStack("OBJ without a class")
		}
		return d.pushContainer(&Object{Kind: Obj, Callable: items[0], Args: Tuple(items[1:])}, max(1, h))
	case OpInst:
		if err := d.onGlobal(op, op.Arg.(Global)); err != nil {
			return err
		}
		items, h, err := d.popMarkH()
		if err != nil {
			return err
		}
		return d.pushContainer(&Object{Kind: Inst, Callable: op.Arg.(Global), Args: Tuple(items)}, max(1, h))
	case OpBuild:
		state, hs, err := d.popH()
		if err != nil {
			return err
		}
		t, err := d.topSlot()
		if err != nil {
			return err
		}
		o, ok := t.v.(*Object)
		if !ok {
			return fmt.Errorf("%w: BUILD on %s (only objects can be built)", ErrUnsupported, typeName(t.v))
		}
		o.State, o.Built = state, true
		t.grow(hs)
		return nil
	case OpPersID, OpBinPersID:
		var id Value
		var h int32
		if op.Code == OpPersID {
			id = op.Arg.(string)
		} else {
			var err error
			if id, h, err = d.popH(); err != nil {
				return err
			}
		}
		if d.opts.PersistentLoad == nil {
			return d.pushContainer(PersistentID{ID: id}, h+1)
		}
		v, err := d.opts.PersistentLoad(id)
		if err != nil {
			return fmt.Errorf("persistent_load: %w", err)
		}
		if isContainer(v) {
			// Its height is unknown, and it may be returned again.
			d.shared = true
		}
		return d.push(v)
	case OpNextBuffer, OpReadonlyBuffer:
		return fmt.Errorf("%w: out-of-band buffers (protocol 5 %s)", ErrUnsupported, op.Name)
	}
	return fmt.Errorf("%w: opcode not handled", ErrUnsupported)
}

// onGlobal reports a global reference to Options.OnGlobal.
func (d *Decoder) onGlobal(op Op, g Global) error {
	if d.opts.OnGlobal == nil {
		return nil
	}
	return d.opts.OnGlobal(op.Offset, g)
}

func asTuple(v Value, op string) (Tuple, error) {
	switch x := v.(type) {
	case Tuple:
		return x, nil
	case *List:
		return Tuple(append([]Value(nil), x.Items...)), nil
	}
	return nil, fmt.Errorf("%w: %s arguments must be a tuple, got %s", ErrMalformed, op, typeName(v))
}

// appendTo appends items of height below h to the list or object on top.
func (d *Decoder) appendTo(items []Value, h int32) error {
	s, err := d.topSlot()
	if err != nil {
		return err
	}
	s.h = max(s.h, h)
	switch x := s.v.(type) {
	case *List:
		x.Items = append(growBatch(x.Items, len(items), d.batchRoom(len(items), len(x.Items), cap(x.Items))), items...)
	case *Object:
		x.Appended = append(growBatch(x.Appended, len(items), d.batchRoom(len(items), len(x.Appended), cap(x.Appended))), items...)
	default:
		return fmt.Errorf("%w: APPEND to %s", ErrMalformed, typeName(s.v))
	}
	return nil
}

// setItems sets key/value pairs of height below h in the dict or object on top.
func (d *Decoder) setItems(items []Value, h int32) error {
	s, err := d.topSlot()
	if err != nil {
		return err
	}
	s.h = max(s.h, h)
	switch x := s.v.(type) {
	case *Dict:
		x.Entries = growBatch(x.Entries, len(items)/2, d.batchRoom(len(items)/2, len(x.Entries), cap(x.Entries)))
		for i := 0; i < len(items); i += 2 {
			x.Set(items[i], items[i+1])
		}
	case *Object:
		x.Items = growBatch(x.Items, len(items)/2, d.batchRoom(len(items)/2, len(x.Items), cap(x.Items)))
		for i := 0; i < len(items); i += 2 {
			x.Items = append(x.Items, Entry{items[i], items[i+1]})
		}
	default:
		return fmt.Errorf("%w: SETITEM on %s", ErrMalformed, typeName(s.v))
	}
	return nil
}

// growBatch returns s with room for n more elements; when it must grow, it
// makes room for at least room more and at least doubles. Picklers add items
// in batches of 1000 (APPENDS, SETITEMS); append alone grows large slices by
// about 1.25× at a time, which copies a 20,000-entry state_dict's items a
// dozen times.
func growBatch[T any](s []T, n, room int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]T, len(s), max(2*cap(s), len(s)+max(n, room)))
	copy(out, s)
	return out
}

// batchRoom is the room to make for a batch of n items (APPENDS, SETITEMS;
// markedItems just popped its mark) added to a container of have items and
// the given capacity, when the container must grow: on in-memory input, n and a projection of the
// items still to come at this batch's density of bytes (a large container's
// batches follow each other to its end), capped at 8× the container's new
// size so that one followed by other data is overestimated by that at most,
// and all containers of one pickle together by specLeft. A 20,000-entry
// state_dict then grows twice, to its exact size.
func (d *Decoder) batchRoom(n, have, capacity int) int {
	r := d.or
	from := d.batchOff
	d.batchOff = -1 // APPEND and SETITEM, which pop no mark, get plain doubling
	used := r.off - from
	if !r.inMem || from < 0 || n <= 0 || used <= 0 || capacity-have >= n {
		return n // (the last: growBatch keeps the container, nothing to reserve)
	}
	rest := float64(int64(len(r.data)) - r.off)
	extra := int64(min(float64(n)*rest/float64(used), 8*float64(have+n), float64(d.specLeft)))
	d.specLeft -= extra
	return n + int(extra)
}

// specBytes is the input bytes per element that batchRoom may reserve
// ahead of reading it: an element takes two bytes or more in any batch worth
// projecting (BININT1), and with 16-byte elements at most 8× the pickle's
// size is ever reserved on projection alone.
const specBytes = 2

func typeName(v Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case ByteArray:
		return "bytearray"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case *Set:
		return "set"
	case Global:
		return "global " + x.String()
	case Ext:
		return "extension"
	case *Object:
		return "object"
	case PersistentID:
		return "persistent id"
	}
	return fmt.Sprintf("%T", v)
}

// isContainer reports whether v can hold other values.
func isContainer(v Value) bool {
	switch v.(type) {
	case Tuple, *List, *Dict, *Set, *Object, PersistentID:
		return true
	}
	return false
}

// pushShared pushes a second reference to s.v (GET, DUP) and charges the size
// of the tree it adds, so that references to references cannot multiply a small
// input into a huge tree (billion laughs).
func (d *Decoder) pushShared(s slot) error {
	v := s.v
	switch x := v.(type) {
	case Tuple, *List, *Dict, *Set, *Object, PersistentID:
	case string:
		return d.pushCharged(v, 1+int64(len(x))/64)
	case []byte:
		return d.pushCharged(v, 1+int64(len(x))/64)
	case ByteArray:
		return d.pushCharged(v, 1+int64(len(x))/64)
	default:
		return d.push(v)
	}
	w := &walker{budget: d.lim.MaxElements - d.elems, maxDepth: d.lim.MaxDepth}
	n, _, err := w.walk(v, 0)
	if err != nil {
		return err
	}
	if err := d.charge(n); err != nil {
		return err
	}
	d.shared = true
	d.stack = append(d.stack, s)
	return nil
}

func (d *Decoder) pushCharged(v Value, n int64) error {
	if err := d.charge(n); err != nil {
		return err
	}
	d.stack = append(d.stack, slot{v: v})
	return nil
}

// checkDepth verifies that the result nests no deeper than MaxDepth.
func (d *Decoder) checkDepth(v Value) error {
	return (&walker{budget: -1, maxDepth: d.lim.MaxDepth}).walkErr(v)
}

// walkErr walks v and returns only the error.
func (w *walker) walkErr(v Value) error {
	_, _, err := w.walk(v, 0)
	return err
}

// walker measures a value tree: its size counting every reference (weight) and
// its height. Containers are memoized by address, so the work is proportional
// to the distinct containers; containers on the current path (cycles) count zero.
type walker struct {
	budget   int64 // stop with ErrLimit once weight exceeds it; <0 means no budget
	maxDepth int
	seen     map[unsafe.Pointer]walkRec
}

type walkRec struct {
	weight int64
	height int32 // -1 while on the path
}

var errTooDeep = fmt.Errorf("%w: value nests deeper than MaxDepth", ErrLimit)

func (w *walker) walk(v Value, depth int) (weight, height int64, err error) {
	if depth > w.maxDepth {
		return 0, 0, errTooDeep
	}
	var key unsafe.Pointer
	switch x := v.(type) {
	case string:
		return 1 + int64(len(x))/64, 0, nil
	case []byte:
		return 1 + int64(len(x))/64, 0, nil
	case ByteArray:
		return 1 + int64(len(x))/64, 0, nil
	case Tuple:
		if len(x) == 0 {
			return 1, 0, nil
		}
		key = unsafe.Pointer(&x[0])
	case *List:
		key = unsafe.Pointer(x)
	case *Set:
		key = unsafe.Pointer(x)
	case *Dict:
		key = unsafe.Pointer(x)
	case *Object:
		key = unsafe.Pointer(x)
	case PersistentID:
		cw, ch, err := w.walk(x.ID, depth+1)
		return cw + 1, ch + 1, err
	default:
		return 1, 0, nil
	}
	if w.seen == nil {
		w.seen = make(map[unsafe.Pointer]walkRec)
	}
	if r, ok := w.seen[key]; ok {
		if r.height < 0 {
			return 0, 0, nil // a cycle: already counted on this path
		}
		if depth+int(r.height) > w.maxDepth {
			return 0, 0, errTooDeep
		}
		return r.weight, int64(r.height), nil
	}
	w.seen[key] = walkRec{height: -1}
	acc := walkAcc{w: w, depth: depth + 1, weight: 1}
	switch x := v.(type) {
	case Tuple:
		acc.values(x)
	case *List:
		acc.values(x.Items)
	case *Set:
		acc.values(x.Items)
	case *Dict:
		acc.entries(x.Entries)
	case *Object:
		acc.add(x.Callable)
		acc.values(x.Args)
		acc.add(x.State)
		if x.Kwargs != nil {
			acc.add(x.Kwargs)
		}
		acc.values(x.Appended)
		acc.entries(x.Items)
	}
	if acc.err != nil {
		return 0, 0, acc.err
	}
	w.seen[key] = walkRec{weight: acc.weight, height: int32(acc.height)}
	return acc.weight, acc.height, nil
}

// walkAcc accumulates the children of one container.
type walkAcc struct {
	w              *walker
	depth          int
	weight, height int64
	err            error
}

func (a *walkAcc) add(c Value) {
	if a.err != nil {
		return
	}
	cw, ch, err := a.w.walk(c, a.depth)
	if err != nil {
		a.err = err
		return
	}
	a.weight += cw
	a.height = max(a.height, ch+1)
	if a.w.budget >= 0 && a.weight > a.w.budget {
		a.err = fmt.Errorf("%w: more than MaxElements elements (counting shared references)", ErrLimit)
	}
}

func (a *walkAcc) values(vs []Value) {
	for _, c := range vs {
		if a.err != nil {
			return
		}
		a.add(c)
	}
}

func (a *walkAcc) entries(es []Entry) {
	for _, e := range es {
		if a.err != nil {
			return
		}
		a.add(e.Key)
		a.add(e.Value)
	}
}

// identityKey identifies a Value the way CPython's id() would for the objects
// a pickle can share: pointers for mutable containers and objects, the backing
// array for tuples, strings and bytes (shared only when they came from the same
// memo entry or the same Go value).
type identityKey struct {
	kind  uint8
	p     unsafe.Pointer
	n     int
	s, s2 string
}

const (
	idPtr uint8 = iota + 1
	idTuple
	idStr
	idStrVal
	idBytes
	idBytesVal
	idByteArray
	idGlobal
)

// identity returns the identity key of v and whether v has one.
func identity(v Value) (identityKey, bool) {
	switch x := v.(type) {
	case *List:
		return identityKey{kind: idPtr, p: unsafe.Pointer(x)}, true
	case *Dict:
		return identityKey{kind: idPtr, p: unsafe.Pointer(x)}, true
	case *Set:
		return identityKey{kind: idPtr, p: unsafe.Pointer(x)}, true
	case *Object:
		return identityKey{kind: idPtr, p: unsafe.Pointer(x)}, true
	case Tuple:
		if len(x) == 0 {
			return identityKey{}, false
		}
		return identityKey{kind: idTuple, p: unsafe.Pointer(&x[0]), n: len(x)}, true
	case string:
		// CPython keeps one object for "".
		if len(x) == 0 {
			return identityKey{kind: idStrVal}, true
		}
		return identityKey{kind: idStr, p: unsafe.Pointer(unsafe.StringData(x)), n: len(x)}, true
	case []byte:
		// CPython keeps one object for b"" and for each one-byte bytes value.
		if len(x) <= 1 {
			return identityKey{kind: idBytesVal, s: string(x)}, true
		}
		return identityKey{kind: idBytes, p: unsafe.Pointer(&x[0]), n: len(x)}, true
	case ByteArray:
		if len(x) == 0 {
			return identityKey{}, false
		}
		return identityKey{kind: idByteArray, p: unsafe.Pointer(&x[0]), n: len(x)}, true
	case Global:
		return identityKey{kind: idGlobal, s: x.Module, s2: x.Name}, true
	}
	return identityKey{}, false
}
