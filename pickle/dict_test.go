package pickle

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"
)

// refDict is the reference model of a Dict: a linear scan with hashKey equality.
type refDict []Entry

func (r *refDict) set(k, v Value) {
	if hk, ok := hashKey(k); ok {
		for i := range *r {
			if k2, ok := hashKey((*r)[i].Key); ok && k2 == hk {
				(*r)[i].Value = v
				return
			}
		}
	}
	*r = append(*r, Entry{k, v})
}

func (r refDict) get(k Value) (Value, bool) {
	hk, ok := hashKey(k)
	if !ok {
		return nil, false
	}
	for _, e := range r {
		if k2, ok := hashKey(e.Key); ok && k2 == hk {
			return e.Value, true
		}
	}
	return nil, false
}

// sameValue is reflect.DeepEqual, except that a NaN is the same as itself
// (a Dict keeps the very key it was given).
func sameValue(a, b Value) bool {
	if fa, ok := a.(float64); ok {
		if fb, ok := b.(float64); ok && math.IsNaN(fa) && math.IsNaN(fb) {
			return true
		}
	}
	return reflect.DeepEqual(a, b)
}

func sameEntries(t *testing.T, what string, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries, want %d:\n%v\n%v", what, len(got), len(want), got, want)
	}
	for i := range got {
		if !sameValue(got[i].Key, want[i].Key) || !sameValue(got[i].Value, want[i].Value) {
			t.Fatalf("%s: entry %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// checkIndex checks the invariants of d's index: absent below smallDict
// entries unless presized, a power of two at least twice the entries, and
// each hashable entry's position in it exactly once.
func checkIndex(t *testing.T, d *Dict) {
	t.Helper()
	if d.index == nil {
		if len(d.Entries) > smallDict {
			t.Fatalf("%d entries and no index", len(d.Entries))
		}
		return
	}
	n := len(d.index)
	if n&(n-1) != 0 || n < 2*len(d.Entries) {
		t.Fatalf("index of %d slots for %d entries", n, len(d.Entries))
	}
	seen := make([]int, len(d.Entries))
	for _, p := range d.index {
		if p < 0 || int(p) > len(d.Entries) {
			t.Fatalf("index slot holds %d with %d entries", p, len(d.Entries))
		}
		if p > 0 {
			seen[p-1]++
		}
	}
	for i, e := range d.Entries {
		_, hashable := hashKey(e.Key)
		if want := map[bool]int{true: 1, false: 0}[hashable]; seen[i] != want {
			t.Fatalf("entry %d (%v) is in the index %d times, want %d", i, e.Key, seen[i], want)
		}
	}
}

// filled returns a dict holding n string keys "fill0".. (so that the
// index is in use from n = smallDict on) and the same in the model.
func filled(n int) (*Dict, *refDict) {
	d, r := NewDict(), &refDict{}
	for i := range n {
		k := fmt.Sprintf("fill%d", i)
		d.Set(k, int64(-i))
		r.set(k, int64(-i))
	}
	return d, r
}

// Keys equal in Python share one entry, whatever their Go types; keys that
// differ (str and bytes, a tuple and its parts) never do; unhashable keys
// are kept but never merged or found. Small (scanned) and indexed dicts alike.
func TestDictKeyKinds(t *testing.T) {
	obj := &Object{Callable: Global{"m", "C"}}
	frozen := &Set{Frozen: true, Items: []Value{int64(1)}}
	nan := math.NaN()
	huge := new(big.Int).Lsh(big.NewInt(1), 100)
	for _, fill := range []int{0, 3, smallDict, 100} {
		t.Run(fmt.Sprint(fill), func(t *testing.T) {
			d, r := filled(fill)
			sets := append([]Entry{}, d.Entries...)
			set := func(k, v Value) {
				d.Set(k, v)
				r.set(k, v)
				sets = append(sets, Entry{k, v})
			}
			base := d.Len()
			set(int64(1), "int")
			set(1.0, "float")
			set(true, "bool")
			set(big.NewInt(1), "bigint")
			set(int64(0), "zero")
			set(false, "false")
			set(math.Copysign(0, -1), "-0.0")
			set(1.5, "1.5")
			set("a", "str")
			set([]byte("a"), "bytes")
			set([]byte("a"), "bytes2")
			set(Tuple{int64(1), "a"}, "tuple")
			set(Tuple{true, "a"}, "tuple2") // (True, 'a') == (1, 'a')
			set(Tuple{Tuple{}}, "nested")
			set(Tuple{}, "empty tuple")
			set(nil, "none")
			set(nil, "none2")
			set(Global{"m", "f"}, "global")
			set(Global{"m", "f"}, "global2")
			set(Global{"m.f", ""}, "other global")
			set(Ext{7}, "ext")
			set(Ext{7}, "ext2")
			set(obj, "obj")
			set(obj, "obj2")
			set(&Object{Callable: Global{"m", "C"}}, "other obj") // identity
			set(frozen, "frozenset")
			set(frozen, "frozenset2")
			set(huge, "huge")
			set(new(big.Int).Lsh(big.NewInt(1), 100), "huge2")
			set(nan, "nan")
			set(nan, "nan2") // NaN != NaN: two entries, as with float('nan') keys in Python
			set(&List{}, "list")
			set(&List{}, "list2")
			set(ByteArray("a"), "bytearray")
			set(&Set{}, "set")
			set(Tuple{&List{}}, "tuple with list")
			set(&Object{Kind: Reduce, Callable: Global{"builtins", "set"}}, "set()")

			wantKeys := []Value{int64(1), int64(0), 1.5, "a", []byte("a"), Tuple{int64(1), "a"}, Tuple{Tuple{}},
				Tuple{}, nil, Global{"m", "f"}, Global{"m.f", ""}, Ext{7}, obj, &Object{Callable: Global{"m", "C"}},
				frozen, huge, nan, nan, &List{}, &List{}, ByteArray("a"), &Set{}, Tuple{&List{}},
				&Object{Kind: Reduce, Callable: Global{"builtins", "set"}}}
			wantVals := []Value{"bigint", "-0.0", "1.5", "str", "bytes2", "tuple2", "nested", "empty tuple", "none2",
				"global2", "other global", "ext2", "obj2", "other obj", "frozenset2", "huge2", "nan", "nan2",
				"list", "list2", "bytearray", "set", "tuple with list", "set()"}
			var want []Entry
			for i := range wantKeys {
				want = append(want, Entry{wantKeys[i], wantVals[i]})
			}
			sameEntries(t, "entries", d.Entries[base:], want)
			sameEntries(t, "model", d.Entries, *r)
			checkIndex(t, d)

			for _, q := range []struct {
				key  Value
				want Value // nil: absent
			}{
				{int64(1), "bigint"}, {true, "bigint"}, {1.0, "bigint"}, {big.NewInt(1), "bigint"},
				{false, "-0.0"}, {0.0, "-0.0"}, {1.5, "1.5"}, {"a", "str"}, {[]byte("a"), "bytes2"},
				{Tuple{1.0, "a"}, "tuple2"}, {Tuple{int64(1), []byte("a")}, nil}, {Tuple{Tuple{}}, "nested"},
				{Global{"m", "f"}, "global2"}, {Ext{7}, "ext2"}, {Ext{8}, nil}, {obj, "obj2"},
				{&Object{Callable: Global{"m", "C"}}, nil}, {frozen, "frozenset2"},
				{new(big.Int).Lsh(big.NewInt(1), 100), "huge2"}, {nan, nil}, {&List{}, nil},
				{ByteArray("a"), nil}, {&Set{}, nil}, {"b", nil}, {int64(2), nil}, {"fill1", nil},
			} {
				want, wantOK := q.want, q.want != nil
				if s, ok := q.key.(string); ok && s == "fill1" && fill > 1 {
					want, wantOK = int64(-1), true
				}
				v, ok := d.Get(q.key)
				if ok != wantOK || v != want {
					t.Errorf("Get(%#v) = %v, %v; want %v, %v", q.key, v, ok, want, wantOK)
				}
				if rv, rok := r.get(q.key); rok != ok || rv != v {
					t.Errorf("Get(%#v) = %v, %v; the model gives %v, %v", q.key, v, ok, rv, rok)
				}
				if s, isStr := q.key.(string); isStr {
					if v2, ok2 := d.GetString(s); ok2 != ok || v2 != v {
						t.Errorf("GetString(%q) = %v, %v; Get gives %v, %v", s, v2, ok2, v, ok)
					}
				}
			}

			// NewDictOf over the same Sets gives the same dict.
			sameEntries(t, "NewDictOf", NewDictOf(sets).Entries, d.Entries)
		})
	}
}

// The index grows past several powers of two, keeping every key findable
// and every position in place; replacing a value keeps its position.
func TestDictGrowth(t *testing.T) {
	d := NewDict()
	const n = 5000
	key := func(i int) Value {
		switch i % 3 {
		case 0:
			return fmt.Sprintf("layers.%d.weight", i)
		case 1:
			return int64(i)
		}
		return Tuple{"t", int64(i)}
	}
	for i := range n {
		d.Set(key(i), int64(i))
		if i&(i+1) == 0 || i == n-1 { // at 2^k - 1 entries, and the end
			checkIndex(t, d)
		}
	}
	if d.Len() != n {
		t.Fatalf("Len = %d, want %d", d.Len(), n)
	}
	for i := n - 1; i >= 0; i -= 2 {
		d.Set(key(i), "again")
	}
	if d.Len() != n || len(d.index) != indexSize(n) {
		t.Fatalf("Len = %d, index %d after replacing, want %d, %d", d.Len(), len(d.index), n, indexSize(n))
	}
	for i := range n {
		want := Value(int64(i))
		if (n-1-i)%2 == 0 {
			want = "again"
		}
		if v, ok := d.Get(key(i)); !ok || v != want {
			t.Fatalf("Get(%v) = %v, %v; want %v", key(i), v, ok, want)
		}
		if !reflect.DeepEqual(d.Entries[i].Key, key(i)) {
			t.Fatalf("entry %d has key %v, want %v", i, d.Entries[i].Key, key(i))
		}
	}
	for _, k := range []Value{"layers.1.weight", int64(n), Tuple{"t", int64(0)}, 3.5, nil} {
		if v, ok := d.Get(k); ok {
			t.Errorf("Get(%v) = %v, want absent", k, v)
		}
	}
	checkIndex(t, d)
}

// A dict literal built without Set, or presized by NewDictSize, indexes
// itself on the first Set past its size.
func TestDictUnindexedAndPresized(t *testing.T) {
	var entries []Entry
	for i := range 3 * smallDict {
		entries = append(entries, Entry{fmt.Sprint(i), int64(i)})
	}
	d := &Dict{Entries: entries}
	if v, ok := d.GetString("40"); !ok || v != int64(40) {
		t.Fatalf(`GetString("40") = %v, %v`, v, ok)
	}
	d.Set("40", "x")
	d.Set("new", "y")
	checkIndex(t, d)
	if d.Len() != 3*smallDict+1 || d.Entries[40].Value != "x" {
		t.Fatalf("%d entries, entry 40 = %v", d.Len(), d.Entries[40])
	}

	p := NewDictSize(20)
	if p.index == nil {
		t.Fatal("NewDictSize(20) has no index")
	}
	for i := range 100 {
		p.Set(int64(i%50), int64(i))
		checkIndex(t, p)
	}
	if p.Len() != 50 {
		t.Fatalf("Len = %d, want 50", p.Len())
	}
	for i := range 50 {
		if v, ok := p.Get(float64(i)); !ok || v != int64(i+50) {
			t.Fatalf("Get(%d.0) = %v, %v", i, v, ok)
		}
	}
}

// NewDictOf with duplicates (some keys repeated many times, others
// unhashable) equals the dict Set gives one entry at a time.
func TestNewDictOfDuplicates(t *testing.T) {
	for _, n := range []int{0, 1, smallDict - 1, smallDict, 1000} {
		var entries []Entry
		for i := range n {
			var k Value
			switch i % 5 {
			case 0:
				k = fmt.Sprint(i % 7) // repeats
			case 1:
				k = int64(i % 11)
			case 2:
				k = float64(i % 11) // equal to the ints
			case 3:
				k = &List{} // unhashable: every one kept
			default:
				k = fmt.Sprint("unique", i)
			}
			entries = append(entries, Entry{k, int64(i)})
		}
		want := NewDict()
		for _, e := range entries {
			want.Set(e.Key, e.Value)
		}
		got := NewDictOf(append([]Entry{}, entries...))
		sameEntries(t, fmt.Sprint("n=", n), got.Entries, want.Entries)
		checkIndex(t, got)
		for _, e := range entries {
			gv, gok := got.Get(e.Key)
			wv, wok := want.Get(e.Key)
			if gok != wok || gv != wv {
				t.Fatalf("n=%d: Get(%v) = %v, %v; want %v, %v", n, e.Key, gv, gok, wv, wok)
			}
		}
	}
}

// A Dict behaves as the reference model under random Sets and Gets of keys
// of every kind, many of them equal across kinds; NewDictOf of the same Sets
// gives the same entries.
func TestDictRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	objs := []*Object{{}, {}, {}}
	frozen := []*Set{{Frozen: true}, {Frozen: true}}
	var key func(depth int) Value
	key = func(depth int) Value {
		i := rng.IntN(40)
		switch rng.IntN(12) {
		case 0:
			return int64(i)
		case 1:
			return float64(i) / 2 // half of them integral
		case 2:
			return i%2 == 0
		case 3:
			return big.NewInt(int64(i))
		case 4:
			return fmt.Sprint("k", i)
		case 5:
			return []byte(fmt.Sprint("k", i))
		case 6:
			if depth > 2 {
				return nil
			}
			tu := make(Tuple, rng.IntN(3))
			for j := range tu {
				tu[j] = key(depth + 1)
			}
			return tu
		case 7:
			return Global{"m", fmt.Sprint(i % 5)}
		case 8:
			return Ext{int32(i % 5)}
		case 9:
			return objs[i%len(objs)]
		case 10:
			return frozen[i%len(frozen)]
		}
		switch i % 4 {
		case 0:
			return math.NaN()
		case 1:
			return &List{}
		case 2:
			return ByteArray("k")
		}
		return nil
	}
	for round := range 20 {
		d, r := NewDict(), &refDict{}
		var sets []Entry
		for op := range 2000 {
			k := key(0)
			if rng.IntN(3) == 0 {
				v, ok := d.Get(k)
				rv, rok := r.get(k)
				if ok != rok || v != rv {
					t.Fatalf("round %d op %d: Get(%#v) = %v, %v; the model gives %v, %v", round, op, k, v, ok, rv, rok)
				}
				continue
			}
			d.Set(k, int64(op))
			r.set(k, int64(op))
			sets = append(sets, Entry{k, int64(op)})
		}
		sameEntries(t, fmt.Sprint("round ", round), d.Entries, *r)
		checkIndex(t, d)
		of := NewDictOf(append([]Entry{}, sets...))
		sameEntries(t, fmt.Sprint("round ", round, " NewDictOf"), of.Entries, d.Entries)
		checkIndex(t, of)
	}
}

// NewDictOf and GetString do not allocate per entry: the index is one slice.
func TestDictAllocs(t *testing.T) {
	src := stateDictEntries(2000)
	entries := make([]Entry, len(src))
	var d *Dict
	if a := testing.AllocsPerRun(10, func() {
		copy(entries, src)
		d = NewDictOf(entries)
	}); a > 2 {
		t.Errorf("NewDictOf: %v allocations, want at most 2 (the Dict and its index)", a)
	}
	k := src[1234].Key.(string)
	if a := testing.AllocsPerRun(10, func() {
		if v, ok := d.GetString(k); !ok || v != int64(1234) {
			t.Fatalf("GetString(%q) = %v, %v", k, v, ok)
		}
	}); a != 0 {
		t.Errorf("GetString: %v allocations, want 0", a)
	}
}

// A str key never equals a bytes, big int, tuple or frozenset key, whatever
// its text: not even the text of their internal encodings, alone or inside
// a tuple (Python: '\x00bytes:a' != b'a').
func TestDictStrNeverEqualsEncodedKey(t *testing.T) {
	frozen := &Set{Frozen: true}
	big1 := new(big.Int).Lsh(big.NewInt(1), 70)
	others := []Value{[]byte("a"), big1, Tuple{int64(1)}, frozen, Tuple{"x", []byte("a")}}
	for _, fill := range []int{0, 100} {
		d, _ := filled(fill)
		base := d.Len()
		for i, o := range others {
			hk, _ := hashKey(o)
			enc := string(hk.(keyEnc))
			d.Set(enc, i)          // the encoding's text as a str
			d.Set(Tuple{enc}, -i)  // and inside a tuple
			d.Set(o, 100+i)        // the key itself
			d.Set(Tuple{o}, 200+i) // and inside a tuple
		}
		if d.Len() != base+4*len(others) {
			t.Fatalf("fill %d: %d entries, want %d: %v", fill, d.Len()-base, 4*len(others), d.Entries[base:])
		}
		checkIndex(t, d)
		for i, o := range others {
			hk, _ := hashKey(o)
			if v, ok := d.GetString(string(hk.(keyEnc))); !ok || v != i {
				t.Errorf("fill %d: GetString(encoding of %v) = %v, %v; want %d", fill, o, v, ok, i)
			}
			if v, ok := d.Get(o); !ok || v != 100+i {
				t.Errorf("fill %d: Get(%v) = %v, %v; want %d", fill, o, v, ok, 100+i)
			}
		}
	}
}
