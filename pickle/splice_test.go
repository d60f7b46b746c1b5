package pickle

import (
	"errors"
	"reflect"
	"testing"
)

// tenTimes is a Splicer for `m.f` called with one small int: `MARK BININT1 a
// TUPLE [BINPUT k | MEMOIZE] REDUCE` gives 10*a, the tuple's memo entry opaque.
func tenTimes(s *Splice) (Value, int, bool) {
	b := s.Input
	if s.Callable != (Global{"m", "f"}) || len(b) < 5 || b[0] != OpMark || b[1] != OpBinInt1 || b[3] != OpTuple {
		return nil, 0, false
	}
	if r := s.Refuse; r != nil && (r[OpMark] || r[OpBinInt1] || r[OpTuple] || r[OpBinPut] || r[OpMemoize] || r[OpReduce]) {
		return nil, 0, false // whatever it would read may be refused: the generic machine reports it
	}
	i := 4
	switch {
	case b[i] == OpBinPut && i+1 < len(b):
		s.PutOpaque(int64(b[i+1]))
		i += 2
	case b[i] == OpMemoize:
		s.PutOpaque(s.MemoizeIndex())
		i++
	}
	if i >= len(b) || b[i] != OpReduce {
		return nil, 0, false
	}
	return int64(b[2]) * 10, i + 1, true
}

// call returns the opcodes of m.f(a) with the tuple put at memo k.
func call(a, k byte) []byte {
	return []byte{OpMark, OpBinInt1, a, OpTuple, OpBinPut, k, OpReduce}
}

func TestSplicer(t *testing.T) {
	glob := append([]byte{OpProto, 2, OpGlobal}, "m\nf\n"...)
	// [m.f(3), m.f(4)] with the global memoized and fetched again
	p := append(append([]byte{}, glob...), OpBinPut, 0)
	p = append(p, call(3, 1)...)
	p = append(p, OpBinGet, 0)
	p = append(p, call(4, 2)...)
	p = append(p, OpTuple2, OpStop)

	opts := &Options{Splicer: tenTimes}
	v, err := Unmarshal(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Tuple{int64(30), int64(40)}); !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, want %#v", v, want)
	}
	// Without the splicer: the generic Objects.
	v, err = Unmarshal(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := v.(Tuple)[0].(*Object); !ok || !reflect.DeepEqual(o.Args, Tuple{int64(3)}) {
		t.Fatalf("without splicer: %#v", v)
	}

	// Fetching an opaque entry fails with ErrSpliced.
	q := append(append([]byte{}, p[:len(p)-2]...), OpBinGet, 2, OpTuple3, OpStop)
	if _, err := Unmarshal(q, opts); !errors.Is(err, ErrSpliced) {
		t.Fatalf("GET of a spliced entry: %v, want ErrSpliced", err)
	}
	if _, err := Unmarshal(q, nil); err != nil {
		t.Fatalf("without splicer: %v", err)
	}

	// A declined splice leaves no trace: m.f with a REDUCE missing is left to the
	// generic machine, which reports its own error.
	r := append(append([]byte{}, glob...), OpMark, OpBinInt1, 3, OpTuple, OpBinPut, 1, OpNone, OpReduce, OpStop)
	_, e1 := Unmarshal(r, opts)
	_, e2 := Unmarshal(r, nil)
	if e1 == nil || e1.Error() != e2.Error() {
		t.Fatalf("declined splice: %v, generic: %v", e1, e2)
	}

	// MEMOIZE writes at the index the generic machine would use.
	m := append([]byte{OpProto, 4, OpShortBinUnicode, 1, 'm', OpMemoize, OpShortBinUnicode, 1, 'f', OpMemoize, OpStackGlobal, OpMemoize},
		OpMark, OpBinInt1, 5, OpTuple, OpMemoize, OpReduce, OpMemoize, OpBinGet, 4, OpStop)
	v, err = Unmarshal(m, opts)
	if err != nil || v != int64(50) {
		t.Fatalf("MEMOIZE: %v, %v; want 50 fetched from memo 4", v, err)
	}

	// With opcodes refused, the splicer is offered input and told which: one
	// it does not read changes nothing; one it would read makes it decline,
	// and the generic machine refuses it.
	refuse := &OpSet{}
	refuse[OpExt1] = true
	v, err = Unmarshal(p, &Options{Splicer: tenTimes, Refuse: refuse})
	if want := (Tuple{int64(30), int64(40)}); err != nil || !reflect.DeepEqual(v, want) {
		t.Fatalf("with EXT1 refused: %#v, %v", v, err)
	}
	refuse[OpTuple] = true
	_, e1 = Unmarshal(p, &Options{Splicer: tenTimes, Refuse: refuse})
	_, e2 = Unmarshal(p, &Options{Refuse: refuse})
	if !errors.Is(e1, ErrRefused) || e1.Error() != e2.Error() {
		t.Fatalf("with TUPLE refused: %v, generic: %v", e1, e2)
	}

	// A splice that would pass MaxMemo is declined; the generic machine reports the limit.
	lim := Limits{MaxMemo: 2}
	_, e1 = Unmarshal(p, &Options{Splicer: tenTimes, Limits: lim})
	_, e2 = Unmarshal(p, &Options{Limits: lim})
	if !errors.Is(e1, ErrLimit) || e1.Error() != e2.Error() {
		t.Fatalf("MaxMemo: %v, generic: %v", e1, e2)
	}
}

// NewDictOf gives what Set gives entry by entry (Python's dict semantics:
// first position, last value), small and indexed alike.
func TestNewDictOf(t *testing.T) {
	for _, n := range []int{3, 40} {
		var entries []Entry
		for i := 0; i < n; i++ {
			entries = append(entries, Entry{Key: string(rune('a' + i%7)), Value: int64(i)})
		}
		entries = append(entries, Entry{Key: int64(1), Value: "x"}, Entry{Key: true, Value: "y"}) // True == 1
		want := NewDict()
		for _, e := range entries {
			want.Set(e.Key, e.Value)
		}
		got := NewDictOf(append([]Entry{}, entries...))
		if !reflect.DeepEqual(got.Entries, want.Entries) {
			t.Fatalf("n=%d: %v, want %v", n, got.Entries, want.Entries)
		}
		for _, e := range want.Entries {
			if v, ok := got.Get(e.Key); !ok || v != e.Value {
				t.Errorf("n=%d: Get(%v) = %v, %v", n, e.Key, v, ok)
			}
		}
	}
}

// Containers built in batches are sized from the batches' density of bytes,
// but a container followed by other data is never given more than 8× its
// size: a 1000-item list before a megabyte of bytes stays small, and a
// 20,000-item list in 20 batches ends at its exact size.
func TestBatchGrowth(t *testing.T) {
	list := func(n int) []byte {
		p := []byte{OpProto, 2, OpEmptyList}
		for i := 0; i < n; i += 1000 {
			p = append(p, OpMark)
			for j := i; j < min(n, i+1000); j++ {
				p = append(p, OpBinInt1, byte(j))
			}
			p = append(p, OpAppends)
		}
		return p
	}
	// [list of 1000, 1 MiB bytes]
	p := append([]byte{OpProto, 2, OpMark}, list(1000)[2:]...)
	p = append(p, OpBinBytes, 0, 0, 0x10, 0)
	p = append(p, make([]byte, 1<<20)...)
	p = append(p, OpTuple, OpStop)
	v, err := Unmarshal(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := v.(Tuple)[0].(*List); len(l.Items) != 1000 || cap(l.Items) > 9*1000 {
		t.Fatalf("list of %d items has capacity %d", len(l.Items), cap(l.Items))
	}
	v, err = Unmarshal(append(list(20000), OpStop), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := v.(*List); len(l.Items) != 20000 || cap(l.Items) > 20500 {
		t.Fatalf("list of %d items has capacity %d, want about its size", len(l.Items), cap(l.Items))
	}
	// [list of 1000] × 1000: each list's projection would claim the rest of
	// the input; together they may reserve no more than the pickle's
	// allowance (it was 9× their items).
	p = []byte{OpProto, 2, OpMark}
	for range 1000 {
		p = append(p, list(1000)[2:]...)
	}
	p = append(p, OpTuple, OpStop)
	v, err = Unmarshal(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	items, capacity := 0, 0
	for _, e := range v.(Tuple) {
		items += len(e.(*List).Items)
		capacity += cap(e.(*List).Items)
	}
	if items != 1000*1000 || capacity > items+len(p)/specBytes {
		t.Fatalf("%d items in 1000 lists reserve %d (input %d bytes)", items, capacity, len(p))
	}
}

// named is a Splicer for `m.f` called with one string: `MARK
// SHORT_BINUNICODE|BINUNICODE s BINPUT k TUPLE REDUCE` gives "<s>", the string's
// memo entry kept by PutString (a GET returns it), the tuple's not memoized.
// Before the string it may fetch a string put earlier in the same splice:
// `MARK BINUNICODE s BINPUT k BINGET k TUPLE REDUCE` gives "<s><s>".
func named(s *Splice) (Value, int, bool) {
	b := s.Input
	if s.Callable != (Global{"m", "f"}) || len(b) < 4 || b[0] != OpMark {
		return nil, 0, false
	}
	var n, at int
	switch {
	case b[1] == OpShortBinUnicode:
		n, at = int(b[2]), 3
	case b[1] == OpBinUnicode && len(b) >= 6:
		n, at = int(b[2])|int(b[3])<<8|int(b[4])<<16|int(b[5])<<24, 6
	default:
		return nil, 0, false
	}
	if at+n+2 > len(b) || b[at+n] != OpBinPut {
		return nil, 0, false
	}
	str, ok := s.String(b[at : at+n])
	if !ok {
		return nil, 0, false
	}
	s.PutString(int64(b[at+n+1]), 1)
	i := at + n + 2
	out := "<" + str + ">"
	if i+1 < len(b) && b[i] == OpBinGet {
		v, ok := s.Get(int64(b[i+1]))
		if !ok || v != str {
			return nil, 0, false
		}
		out += "<" + v.(string) + ">"
		i += 2
	}
	if i >= len(b) || b[i] != OpTuple {
		return nil, 0, false
	}
	if i+1 >= len(b) || b[i+1] != OpReduce {
		return nil, 0, false
	}
	return out, i + 2, true
}

// A string a Splicer memoizes with PutString is the same string to every
// later GET: inside the splice, from the generic machine, and in another
// splice; the memo keeps only its offset until then.
func TestSplicePutString(t *testing.T) {
	p := append([]byte{OpProto, 2, OpMark, OpGlobal}, "m\nf\n"...)
	p = append(p, OpBinPut, 0)
	p = append(p, OpMark, OpShortBinUnicode, 3, 'a', 'b', 'c', OpBinPut, 1, OpTuple, OpReduce)                          // m.f("abc")
	p = append(p, OpBinGet, 0, OpMark, OpBinUnicode, 2, 0, 0, 0, 'x', 'y', OpBinPut, 2, OpBinGet, 2, OpTuple, OpReduce) // m.f("xy", "xy")
	p = append(p, OpBinGet, 1, OpBinGet, 2, OpBinGet, 1, OpTuple, OpStop)                                               // the strings again
	got, err := Unmarshal(p, &Options{Splicer: named})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Tuple{"<abc>", "<xy><xy>", "abc", "xy", "abc"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	generic, err := Unmarshal(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := generic.(Tuple); !reflect.DeepEqual(g[2:], got.(Tuple)[2:]) {
		t.Fatalf("without the splicer the strings are %#v", g[2:])
	}
}
