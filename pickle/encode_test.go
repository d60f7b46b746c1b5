package pickle

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"testing"
)

func bigInt(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return v
}

func dictOf(kv ...Value) *Dict {
	d := NewDict()
	for i := 0; i < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

func storage(key string) PersistentID {
	return PersistentID{ID: Tuple{"storage", "FloatStorage", key, "cpu", int64(6)}}
}

// TestMarshalGoValues builds values in Go that mirror objects of
// testdata/gen/pickle_golden.py and requires CPython's protocol-2 bytes.
func TestMarshalGoValues(t *testing.T) {
	pow := func(b, e int64, neg bool) *big.Int {
		v := new(big.Int).Exp(big.NewInt(b), big.NewInt(e), nil)
		if neg {
			v.Neg(v)
		}
		return v
	}
	ints := []Value{int64(0), int64(1), int64(255), int64(256), int64(65535), int64(65536), int64(math.MaxInt32), int64(-1),
		int64(math.MinInt32), int64(1 << 31), int64(math.MinInt32 - 1), int64(1 << 32), int64(math.MaxInt64),
		bigInt("9223372036854775808"), int64(math.MinInt64), bigInt("-9223372036854775809"), pow(2, 64, false),
		pow(2, 100, false), pow(2, 100, true), int64(127), int64(128), int64(-128), int64(-129),
		pow(2, 2040, false), pow(2, 2040, true)}
	list1001 := &List{}
	for i := range 1001 {
		list1001.Items = append(list1001.Items, int64(i))
	}
	dict1000 := NewDict()
	for i := range 1000 {
		dict1000.Set(int64(i), int64(-i))
	}
	rec := &List{}
	rec.Items = append(rec.Items, rec)
	recd := NewDict()
	recd.Set("self", recd)
	shared := &List{Items: []Value{int64(1), int64(2)}}
	d := dictOf("k", shared)
	st0 := storage("0")
	one := Tuple{int64(1)}
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}

	cases := map[string]Value{
		"ints_p2.pkl": &List{Items: ints},
		"floats_p2.pkl": &List{Items: []Value{0.0, math.Copysign(0, -1), 1.5, -2.25, math.Float64frombits(0x7ff8000000000000),
			math.Inf(1), math.Inf(-1), 1e300, 5e-324, 0.1}},
		"consts_p2.pkl":         &List{Items: []Value{nil, true, false}},
		"int_m1_p2.pkl":         int64(-1),
		"int_2147483648_p2.pkl": int64(1 << 31),
		"bytes_single_p2.pkl":   []byte{0, 0xff, 'h', 'i'},
		"bytes_p2.pkl":          &List{Items: []Value{[]byte{}, []byte("a"), []byte("abc"), allBytes, bytes.Repeat([]byte("y"), 300)}},
		"bytearrays_p2.pkl":     &List{Items: []Value{ByteArray{}, ByteArray("ab\x00\xff")}},
		// Python folds the two (1,) constants into one object: one Go Tuple, referenced twice.
		"tuples_p2.pkl": &List{Items: []Value{Tuple{}, one, Tuple{int64(1), int64(2)}, Tuple{int64(1), int64(2), int64(3)},
			Tuple{int64(1), int64(2), int64(3), int64(4)}, Tuple{int64(1), int64(2), int64(3), int64(4), int64(5)},
			Tuple{one, Tuple{Tuple{}}}}},
		"sets_p2.pkl": &List{Items: []Value{&Set{}, &Set{Items: []Value{int64(1), int64(2), int64(3)}}, &Set{Frozen: true},
			&Set{Frozen: true, Items: []Value{"fz"}}}},
		"list1001_p2.pkl":       list1001,
		"dict1000_p2.pkl":       dict1000,
		"recursive_list_p2.pkl": rec,
		"recursive_dict_p2.pkl": recd,
		"shared_p2.pkl":         &List{Items: []Value{shared, shared, d, d, dictOf("other", d)}},
		"kitchen_p2.pkl": dictOf("epoch", int64(3), "loss", 0.25, "lr", &List{Items: []Value{1e-3, 1e-4}},
			"name", "resnet", "flags", Tuple{true, false, nil}),
		"ordered_dict_p2.pkl": &Object{Kind: Reduce, Callable: Global{"collections", "OrderedDict"}, Args: Tuple{},
			Items: []Entry{{"b", int64(1)}, {"a", int64(2)}}},
		"ordered_dict1_p2.pkl": &Object{Kind: Reduce, Callable: Global{"collections", "OrderedDict"}, Args: Tuple{},
			Items: []Entry{{"z", int64(1)}}},
		// "builtins" is written as "__builtin__", as CPython's fix_imports does.
		"class_ref_p2.pkl": &List{Items: []Value{Global{"__main__", "Point"}, Global{"builtins", "len"}, Global{"collections", "OrderedDict"}}},
		"ext_p2.pkl":       &List{Items: []Value{Ext{0xf0}, Ext{0x1234}, Ext{0x12345678}}},
		// persistent_id returns a new tuple per call, but its constant strings are
		// shared objects in CPython, as Go string constants share their bytes.
		"storages_p2.pkl": dictOf("w", st0, "b", storage("1"), "w2", storage("0")),
		"complex_p2.pkl":  &Object{Kind: Reduce, Callable: Global{"builtins", "complex"}, Args: Tuple{1.5, -2.0}},
	}
	// point_p2 is NEWOBJ of __main__.Point with a BUILD state dict.
	cases["point_p2.pkl"] = &Object{Kind: NewObj, Callable: Global{"__main__", "Point"}, Args: Tuple{}, Built: true,
		State: dictOf("x", int64(1), "y", &List{Items: []Value{"y"}})}
	for name, v := range cases {
		want := readGoldenFile(t, name)
		got, err := Marshal(v)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: differs at %d:\n got  %q\n want %q", name, i, got[max(0, i-16):min(len(got), i+24)], want[max(0, i-16):min(len(want), i+24)])
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	deep := Value(nil)
	for range 20000 {
		deep = &List{Items: []Value{deep}}
	}
	cases := map[string]struct {
		v    Value
		want error
	}{
		"go type":         {struct{}{}, ErrEncode},
		"newline global":  {Global{"a\nb", "c"}, ErrEncode},
		"ext code 0":      {Ext{0}, ErrEncode},
		"inst non-global": {&Object{Kind: Inst, Callable: int64(1)}, ErrEncode},
		"too deep":        {deep, ErrLimit},
	}
	for name, c := range cases {
		var b bytes.Buffer
		err := NewEncoder(&b, nil).Encode(c.v)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
		if b.Len() != 0 {
			t.Errorf("%s: %d bytes written despite the error", name, b.Len())
		}
	}
	if err := NewEncoder(&bytes.Buffer{}, &EncoderOptions{Protocol: 4}).Encode(nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("protocol 4: %v, want ErrUnsupported", err)
	}
}

// TestEncodeRecursiveObject: an object reached again through a list in its own
// arguments is written as CPython does (the inner copy is kept, POP + GET).
func TestEncodeRecursiveObject(t *testing.T) {
	l := &List{}
	o := &Object{Kind: Reduce, Callable: Global{"m", "f"}, Args: Tuple{l}}
	l.Items = append(l.Items, o)
	b, err := Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Unmarshal(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	o2 := v.(*Object)
	l2 := o2.Args[0].(*List)
	if l2.Items[0] != o2 {
		t.Fatalf("cycle not kept: %s", Sprint(v))
	}
	b2, _ := Marshal(v)
	if !bytes.Equal(b, b2) {
		t.Fatalf("not stable:\n%q\n%q", b, b2)
	}
}
