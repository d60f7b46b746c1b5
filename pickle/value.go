package pickle

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unsafe"
)

// Value is any value the decoder produces. The dynamic types are exactly:
//
//	nil          Python None
//	bool         True / False
//	int64        ints that fit in 64 bits
//	*big.Int     larger ints (LONG, LONG1, LONG4)
//	float64      floats
//	string       str (and protocol-0/1 STRING/BINSTRING decoded as latin-1 text)
//	[]byte       bytes (BINBYTES*, SHORT_BINBYTES)
//	ByteArray    bytearray (BYTEARRAY8)
//	Tuple        tuples (immutable)
//	*List        lists
//	*Dict        dicts (insertion ordered)
//	*Set         sets and frozensets
//	Global       a reference to module.name (GLOBAL, STACK_GLOBAL, INST/OBJ class, EXT*)
//	*Object      the inert result of calling or instantiating something (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST)
//	PersistentID an out-of-band reference (PERSID, BINPERSID) when no PersistentLoad hook replaces it
//	Ext          an extension-registry code (EXT1, EXT2, EXT4), never resolved
//
// Nothing in a Value tree ever refers to Go code: decoding is data only.
type Value = any

// ByteArray is a Python bytearray.
type ByteArray []byte

// Tuple is a Python tuple.
type Tuple []Value

// List is a Python list. It is a pointer type because lists are mutable and may be
// shared through the memo (APPEND after a memo GET must be seen by every holder).
type List struct {
	Items []Value
}

// Set is a Python set or frozenset.
type Set struct {
	Items  []Value
	Frozen bool
	index  []int32 // positions of Items' hashable items, as Dict's index (built by the decoder)
}

// add adds items to s, skipping ones already present (Python set semantics
// for hashable items; unhashable ones are kept).
func (s *Set) add(items []Value) {
	if s.index == nil || 2*(len(s.Items)+len(items)) > len(s.index) {
		s.rebuild(len(s.Items) + len(items))
	}
	mask := uint64(len(s.index) - 1)
	for _, it := range items {
		hk, ok := hashKey(it)
		if !ok {
			s.Items = append(s.Items, it)
			continue
		}
		if len(s.Items) >= math.MaxInt32 {
			panic("pickle: Set too large to index")
		}
	probe:
		for h := keyHash(hk) & mask; ; h = (h + 1) & mask {
			switch p := s.index[h]; {
			case p == 0:
				s.index[h] = int32(len(s.Items) + 1)
				s.Items = append(s.Items, it)
				break probe
			case keyEqual(hk, s.Items[p-1]):
				break probe
			}
		}
	}
}

// rebuild replaces s's index with one sized for n items holding every
// hashable item (which are distinct: add skips equal ones).
func (s *Set) rebuild(n int) {
	s.index = newIndex(n, len(s.Items), func(i int) Value { return s.Items[i] })
}

// Global is a reference to a module-level name, as written by GLOBAL or STACK_GLOBAL.
// It is never resolved.
type Global struct {
	Module string
	Name   string
}

// String returns "module.name".
func (g Global) String() string { return g.Module + "." + g.Name }

// Ext is a reference through copyreg's extension registry (EXT1/EXT2/EXT4).
// The registry is process-local in Python, so the code is kept unresolved.
type Ext struct {
	Code int32
}

// PersistentID is an out-of-band reference produced by PERSID/BINPERSID.
type PersistentID struct {
	ID Value
}

// ObjectKind says which opcode created an Object. The encoder uses it to write
// the object back with the same construct.
type ObjectKind uint8

const (
	// Reduce is REDUCE: Callable(*Args).
	Reduce ObjectKind = iota
	// NewObj is NEWOBJ: Callable.__new__(Callable, *Args).
	NewObj
	// NewObjEx is NEWOBJ_EX: Callable.__new__(Callable, *Args, **Kwargs).
	NewObjEx
	// Obj is OBJ (protocol 1): Callable(*Args) with the class on the stack.
	Obj
	// Inst is INST (protocol 0): module.name(*Args) with the class inline.
	Inst
)

// Object is the inert record of what Python would have called or instantiated.
// REDUCE and NEWOBJ give one; later BUILD, SETITEM(S) and APPEND(S) opcodes that
// target it are recorded on it, in order, instead of being executed.
//
// One type covers calls and instantiations (DESIGN.md proposed separate Call and
// Object types); a single type keeps every consumer to one case, and Kind keeps
// the distinction for the encoder and the scanner.
type Object struct {
	Kind     ObjectKind
	Callable Value // usually a Global
	Args     Tuple
	Kwargs   *Dict // NEWOBJ_EX only
	// State is the argument of BUILD (nil when Built is false).
	State Value
	Built bool
	// Items are SETITEM(S) pairs applied to the object, in order (e.g. an OrderedDict's entries).
	Items []Entry
	// Appended are APPEND(S) values applied to the object, in order.
	Appended []Value
}

// Entry is one key/value pair of a Dict or of SETITEMS on an Object.
type Entry struct {
	Key   Value
	Value Value
}

// Dict is an insertion-ordered Python dict. Keys may be any hashable Value
// (strings, ints, tuples, …). Setting an existing key replaces its value in place,
// keeping the original position, as Python does.
//
// Entries may be read freely; a dict whose Entries are changed other than
// through Set must not be used with Set or Get afterwards (its index would be stale).
type Dict struct {
	Entries []Entry
	// index is an open-addressing hash table (linear probing) of positions
	// in Entries: 0 is an empty slot, i+1 stands for Entries[i]. Its length
	// is a power of two at least twice len(Entries). It is nil while the dict
	// has fewer than smallDict entries: Set and Get then scan Entries.
	// Unhashable keys are never in it.
	index []int32
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{} }

// NewDictSize returns an empty dict with room for n entries.
func NewDictSize(n int) *Dict {
	d := &Dict{Entries: make([]Entry, 0, n)}
	if n >= smallDict {
		d.index = make([]int32, indexSize(n))
	}
	return d
}

// NewDictOf returns the dict that setting entries in order gives (a later
// entry with an equal key replaces the earlier one's value in its position,
// as Set does), built in the storage of entries itself: the caller must not
// use entries afterwards.
func NewDictOf(entries []Entry) *Dict {
	d := &Dict{Entries: entries} // positions below n are the dict's entries so far
	if len(entries) >= smallDict {
		d.index = make([]int32, indexSize(len(entries)))
	}
	n := 0
	for i := range entries {
		if hk, ok := hashKey(entries[i].Key); ok {
			var j int
			if d.index != nil {
				j = d.insert(hk, n)
			} else {
				j = scan(entries[:n], hk)
			}
			if j >= 0 {
				entries[j].Value = entries[i].Value
				continue
			}
		}
		if n != i { // only after a duplicate: spare the write barriers otherwise
			entries[n] = entries[i]
		}
		n++
	}
	clear(entries[n:])
	d.Entries = entries[:n]
	return d
}

// Len returns the number of entries.
func (d *Dict) Len() int { return len(d.Entries) }

// Set sets key to value.
func (d *Dict) Set(key, value Value) {
	hk, ok := hashKey(key)
	if !ok {
		// Unhashable in Python; keep it anyway (inert decoding never fails on it).
		d.Entries = append(d.Entries, Entry{key, value})
		return
	}
	var i int
	switch {
	case d.index == nil && len(d.Entries) < smallDict:
		i = scan(d.Entries, hk)
	default:
		if 2*(len(d.Entries)+1) > len(d.index) {
			d.rebuild(len(d.Entries) + 1)
		}
		i = d.insert(hk, len(d.Entries))
	}
	if i >= 0 {
		d.Entries[i].Value = value
		return
	}
	d.Entries = append(d.Entries, Entry{key, value})
}

// insert returns the position of the entry whose key equals hk (a hashKey)
// if there is one; otherwise it records n as hk's position and returns -1.
// The index must have an empty slot.
func (d *Dict) insert(hk any, n int) int {
	if n >= math.MaxInt32 {
		panic("pickle: Dict too large to index")
	}
	mask := uint64(len(d.index) - 1)
	for s := keyHash(hk) & mask; ; s = (s + 1) & mask {
		p := d.index[s]
		if p == 0 {
			d.index[s] = int32(n + 1)
			return -1
		}
		if keyEqual(hk, d.Entries[p-1].Key) {
			return int(p - 1)
		}
	}
}

// smallDict is the size below which Set scans the entries instead of keeping
// an index.
const smallDict = 16

// indexSize is the index length for n entries: the least power of two at
// least 2n (a load of at most one half keeps linear probes short).
func indexSize(n int) int {
	size := 2 * smallDict
	for size < 2*n {
		size *= 2
	}
	return size
}

// rebuild replaces d's index with one sized for n entries holding every
// hashable key of Entries (which are distinct: Set merges equal keys).
func (d *Dict) rebuild(n int) {
	d.index = newIndex(n, len(d.Entries), func(i int) Value { return d.Entries[i].Key })
}

// newIndex returns a table of indexSize(n) slots over the count keys key(i)
// gives, of which the hashable ones are distinct: slot i+1 for key(i).
func newIndex(n, count int, key func(int) Value) []int32 {
	index := make([]int32, indexSize(n))
	mask := uint64(len(index) - 1)
	for i := range count {
		hk, ok := hashKey(key(i))
		if !ok {
			continue
		}
		h := keyHash(hk) & mask
		for index[h] != 0 {
			h = (h + 1) & mask
		}
		index[h] = int32(i + 1)
	}
	return index
}

// scan returns the position of the entry of entries whose key equals hk
// (a hashKey), or -1.
func scan(entries []Entry, hk any) int {
	for i, e := range entries {
		if keyEqual(hk, e.Key) {
			return i
		}
	}
	return -1
}

// find returns the position of the entry whose key equals hk (a hashKey), or -1.
func (d *Dict) find(hk any) int {
	if d.index == nil {
		return scan(d.Entries, hk)
	}
	mask := uint64(len(d.index) - 1)
	for s := keyHash(hk) & mask; ; s = (s + 1) & mask {
		p := d.index[s]
		if p == 0 {
			return -1
		}
		if keyEqual(hk, d.Entries[p-1].Key) {
			return int(p - 1)
		}
	}
}

// Get returns the value stored under key.
func (d *Dict) Get(key Value) (Value, bool) {
	hk, ok := hashKey(key)
	if !ok {
		return nil, false
	}
	i := d.find(hk)
	if i < 0 {
		return nil, false
	}
	return d.Entries[i].Value, true
}

// GetString returns the value stored under the string key.
func (d *Dict) GetString(key string) (Value, bool) {
	i := d.find(key)
	if i < 0 {
		return nil, false
	}
	return d.Entries[i].Value, true
}

// keySeed seeds the hashes of every Dict's index.
var keySeed = maphash.MakeSeed()

// keyHash hashes a hashKey result: equal hash keys hash equally. No case
// makes hk escape, so Get and GetString need not box their key on the heap.
func keyHash(hk any) uint64 {
	switch k := hk.(type) {
	case string:
		return maphash.String(keySeed, k)
	case keyEnc:
		return maphash.String(keySeed, string(k))
	case int64:
		return maphash.Comparable(keySeed, k)
	case float64:
		return maphash.Comparable(keySeed, k) // a NaN hashes at random, and equals nothing
	case Global:
		return maphash.Comparable(keySeed, k)
	case Ext:
		return maphash.Comparable(keySeed, k.Code)
	case *Object:
		// By identity, as keys compare. A key in Entries is on the heap,
		// where objects do not move; a probe for an object elsewhere finds
		// nothing whatever its hash.
		return maphash.Comparable(keySeed, uintptr(unsafe.Pointer(k)))
	}
	return 0 // None
}

// keyEqual reports whether the key v equals the hash key hk: whether
// hashKey(v) == hk, without computing hashKey(v) when hk is a str (only a
// str key has a string hash key).
func keyEqual(hk any, v Value) bool {
	if s, ok := hk.(string); ok {
		vs, ok := v.(string)
		return ok && s == vs
	}
	k, ok := hashKey(v)
	return ok && k == hk
}

// hashKey maps a hashable Value to a comparable Go value with Python's equality
// for the common cases: True == 1, 1.0 == 1, equal tuples are equal. A str
// gives itself; bytes, big ints, tuples and frozensets give a keyEnc, never
// equal to a str's.
func hashKey(v Value) (any, bool) {
	budget := maxKeyElems
	return hashKeyBounded(v, 0, &budget)
}

// keyEnc is the hash key of a bytes, big int, tuple or frozenset key: an
// encoding in a type of its own, so that no str key (whatever its text)
// equals one.
type keyEnc string

// Tuple keys are hashed through a string; these bound its cost on hostile
// input (a key beyond them is kept but treated as unhashable: never merged).
const (
	maxKeyDepth = 32
	maxKeyElems = 1024
)

func hashKeyBounded(v Value, depth int, budget *int) (any, bool) {
	switch x := v.(type) {
	case nil, string, int64, Global, Ext:
		return v, true // already boxed: no allocation
	case bool:
		if x {
			return int64(1), true
		}
		return int64(0), true
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
		return x, true
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), true
		}
		// Magnitude bytes, not decimal: formatting a huge int costs more than linear time.
		return keyEnc(fmt.Sprintf("\x00bigint:%d:", x.Sign()) + string(x.Bytes())), true
	case []byte:
		return keyEnc("\x00bytes:" + string(x)), true
	case Tuple:
		*budget -= len(x)
		if depth >= maxKeyDepth || *budget < 0 {
			return nil, false
		}
		var b strings.Builder
		b.WriteString("\x00tuple(")
		for _, e := range x {
			k, ok := hashKeyBounded(e, depth+1, budget)
			if !ok {
				return nil, false
			}
			// Length-prefixed, so the encoding is unambiguous whatever the
			// strings hold, and its size grows linearly with nesting (quoting
			// the inner encodings doubled it at every level).
			switch k := k.(type) {
			case string:
				fmt.Fprintf(&b, "s%d:%s,", len(k), k)
			case keyEnc: // bytes, big ints, tuples, frozensets
				fmt.Fprintf(&b, "k%d:%s,", len(k), k)
			case int64:
				fmt.Fprintf(&b, "i%d,", k)
			case float64:
				b.WriteString("f" + strconv.FormatFloat(k, 'b', -1, 64) + ",")
			case nil:
				b.WriteString("n,")
			case Global:
				fmt.Fprintf(&b, "g%d:%s%d:%s,", len(k.Module), k.Module, len(k.Name), k.Name)
			case Ext:
				fmt.Fprintf(&b, "e%d,", k.Code)
			case *Object:
				fmt.Fprintf(&b, "o%p,", k)
			default:
				return nil, false // hashKeyBounded returns none other
			}
		}
		b.WriteString(")")
		return keyEnc(b.String()), true
	case *Set:
		if !x.Frozen {
			return nil, false
		}
		return keyEnc(fmt.Sprintf("\x00frozenset%p", x)), true
	case *Object:
		// Objects hash by identity in Python unless they define __hash__;
		// identity is the safe choice. But a call of builtins.set, bytearray,
		// list or dict (how Marshal writes a set or bytearray at protocol 2)
		// builds a value Python refuses as a key, as Set and ByteArray are here.
		if g, ok := x.Callable.(Global); ok && x.Kind == Reduce && unhashableBuiltin(g) {
			return nil, false
		}
		return x, true
	}
	return nil, false
}

// unhashableBuiltin reports whether g is builtins.set, bytearray, list or
// dict (or __builtin__'s, Python 2's name).
func unhashableBuiltin(g Global) bool {
	if g.Module != "builtins" && g.Module != "__builtin__" {
		return false
	}
	switch g.Name {
	case "set", "bytearray", "list", "dict":
		return true
	}
	return false
}
