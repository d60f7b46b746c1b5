package pickle

import (
	"errors"
	"fmt"
)

// ErrSpliced means the pickle fetched from the memo (GET) an intermediate value
// that a Splicer decoded without building it (Splice.PutOpaque). The value the
// generic machine would have built there is not known, so the input must be
// decoded again without the Splicer. Real picklers never fetch those values:
// this happens only with crafted or unusual input.
var ErrSpliced = errors.New("pickle: memo entry decoded by a splicer was fetched")

// A Splicer decodes a stretch of opcodes it recognises faster than the generic
// machine can, building only the value that stretch produces. Package pth uses
// one to read each tensor of a torch.save pickle —
// `_rebuild_tensor_v2(persistent_load(('storage', …)), offset, size, stride,
// requires_grad, OrderedDict())` — straight from the bytes: about thirty
// opcodes and a dozen intermediate values per tensor that nothing but the
// tensor ever uses.
//
// The decoder offers the Splicer the input at each MARK opcode, on in-memory
// input (Unmarshal, NewBytesDecoder), whose stack top is a Global: where a
// call's argument tuple is about to be built. The Splicer reads opcodes from
// s.Input (which starts at that MARK), reads the memo with s.Get, and records
// every memo write of the stretch with s.Put or s.PutOpaque. It returns the
// number of bytes it decoded and the value that replaces the Global on the
// stack (what the stretch's last opcode, typically REDUCE, leaves there). When
// it returns ok=false nothing it recorded takes effect and the generic machine
// decodes the input as usual; a Splicer declines whatever it does not
// recognise exactly.
//
// The value is pushed as a leaf, like an Options.Reduce result. A Splicer
// must decline input that holds an opcode s.Refuse refuses (Options.Refuse;
// the generic machine then reports it), and it never sees GLOBAL, INST or
// STACK_GLOBAL opcodes decoded (it must decline them), so OnGlobal sees every
// global.
type Splicer func(s *Splice) (v Value, n int, ok bool)

// Splice is a Splicer's view of the decoder.
type Splice struct {
	// Callable is the Global on top of the stack.
	Callable Global
	// Input is the pickle from the MARK opcode to its end.
	Input []byte
	// Refuse is Options.Refuse (nil: no opcode is refused).
	Refuse *OpSet

	d       *Decoder
	puts    []splicePut
	seq     bool // every put so far was at the next index of a dense memo
	newPuts int  // puts to indices not yet in the memo
	shared  bool // a container was fetched with Get
	bad     bool // a Put the generic machine refuses
	charge  int64
}

type splicePut struct {
	idx int64
	v   Value
	str int64 // PutString: the string opcode's input offset (else -1)
}

// memoSpliced marks a memo entry a Splicer wrote without building its value.
type memoSpliced struct{}

// Get returns memo entry idx as a GET opcode would, including entries Put
// earlier in this splice. Entries put opaque are reported missing.
func (s *Splice) Get(idx int64) (Value, bool) {
	for i := len(s.puts) - 1; i >= 0; i-- {
		if p := s.puts[i]; p.idx == idx {
			if p.str >= 0 {
				return s.d.strAt(p.str), true
			}
			_, opaque := p.v.(memoSpliced)
			return p.v, !opaque
		}
	}
	v, err := s.d.memoGet(idx)
	if err != nil {
		return nil, false
	}
	if isContainer(v) {
		s.shared = true
	}
	return v, true
}

// Put records memo entry idx = v (PUT, BINPUT, LONG_BINPUT).
func (s *Splice) Put(idx int64, v Value) { s.put(splicePut{idx, v, -1}) }

func (s *Splice) put(p splicePut) {
	if p.idx < 0 {
		s.bad = true // the generic machine reports it
		return
	}
	// Picklers number memo entries in order: the next index is new and
	// not staged, and trySplice appends it.
	if d := s.d; s.seq && d.memoMap == nil && len(d.memo) == d.memoCount && p.idx == int64(len(d.memo)+len(s.puts)) {
		s.newPuts++
		s.puts = append(s.puts, p)
		return
	}
	s.seq = false
	if !s.d.memoExists(p.idx) && !s.staged(p.idx) {
		s.newPuts++
	}
	s.puts = append(s.puts, p)
}

// PutString records memo entry idx = the string that the SHORT_BINUNICODE,
// BINUNICODE or BINUNICODE8 opcode at Input[pos:] decodes to, which the
// Splicer has read: the memo keeps its place in the input, not the string,
// until a GET asks for it.
func (s *Splice) PutString(idx int64, pos int) {
	off := int64(len(s.d.or.data)-len(s.Input)) + int64(pos)
	s.put(splicePut{idx, nil, off})
}

// PutOpaque records a write of memo entry idx with an intermediate value the
// Splicer did not build; a later GET of it fails with ErrSpliced.
func (s *Splice) PutOpaque(idx int64) { s.Put(idx, memoSpliced{}) }

// MemoizeIndex returns the index a MEMOIZE opcode writes at this point of the splice.
func (s *Splice) MemoizeIndex() int64 { return int64(s.d.memoCount + s.newPuts) }

func (s *Splice) staged(idx int64) bool {
	for _, p := range s.puts {
		if p.idx == idx {
			return true
		}
	}
	return false
}

// String returns b as a new string, stored like the decoder's own strings;
// ok is false when the allocation limit is reached (the Splicer then declines
// and the generic machine reports the limit).
func (s *Splice) String(b []byte) (string, bool) {
	r := s.d.or
	if r.charge(int64(len(b))) != nil {
		return "", false
	}
	s.charge += int64(len(b))
	return r.arenaCopy(b), true
}

// trySplice offers the input at the MARK at off to the Splicer and, when it
// accepts, applies its memo writes, replaces the Global on the stack with its
// value and moves past the bytes it decoded. It reports whether it did.
func (d *Decoder) trySplice(off int64, g Global) (bool, error) {
	s := &d.splice
	// Field by field: a whole-struct write costs a bulk write barrier while
	// the collector runs, once per tensor.
	s.Callable, s.Input, s.Refuse, s.d, s.puts = g, d.or.data[off:], d.opts.Refuse, d, s.puts[:0]
	s.seq, s.newPuts, s.shared, s.bad, s.charge = true, 0, false, false, 0
	v, n, ok := d.opts.Splicer(s)
	if !ok || s.bad || n <= 0 || n > len(s.Input) || d.memoCount+s.newPuts > d.lim.MaxMemo || d.charge(1) != nil {
		d.or.alloc -= s.charge // give back what String charged
		clear(s.puts)
		return false, nil
	}
	if s.seq {
		for _, p := range s.puts {
			d.memoAppend(p.v, p.str)
		}
	} else {
		for _, p := range s.puts {
			if err := d.memoPutAt(p.idx, p.v, p.str); err != nil {
				return false, fmt.Errorf("splice: %w", err) // unreachable: indices and count were checked
			}
		}
	}
	clear(s.puts)
	d.stack[len(d.stack)-1] = slot{v: v}
	if s.shared || isContainer(v) {
		d.shared = true
	}
	d.or.off = off + int64(n)
	return true, nil
}
