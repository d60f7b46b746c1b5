package pickle

import (
	"errors"
	"reflect"
	"testing"
)

// TestOnGlobal: every GLOBAL, STACK_GLOBAL and INST is reported in stream
// order with its opcode's offset (offsets counted by hand from the bytes), and
// an error from the callback stops decoding at that opcode.
func TestOnGlobal(t *testing.T) {
	data := []byte("\x80\x04" + // 0: PROTO 4
		"cmod\nfn\n" + // 2: GLOBAL mod.fn
		"\x8c\x01a\x8c\x01b\x93" + // 10, 13: two SHORT_BINUNICODE; 16: STACK_GLOBAL a.b
		"(im2\nk\n" + // 17: MARK; 18: INST m2.k
		"\x87.") // TUPLE3, STOP
	type seen struct {
		off int64
		g   Global
	}
	var got []seen
	v, err := Unmarshal(data, &Options{OnGlobal: func(off int64, g Global) error {
		got = append(got, seen{off, g})
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []seen{{2, Global{"mod", "fn"}}, {16, Global{"a", "b"}}, {18, Global{"m2", "k"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("globals %v, want %v", got, want)
	}
	if tup, ok := v.(Tuple); !ok || len(tup) != 3 {
		t.Fatalf("value %v", v)
	}

	stop := errors.New("refused by the caller")
	_, err = Unmarshal(data, &Options{OnGlobal: func(off int64, g Global) error {
		if g.Module == "a" {
			return stop
		}
		return nil
	}})
	var oe *OpcodeError
	if !errors.Is(err, stop) || !errors.As(err, &oe) || oe.Offset != 16 || oe.Op != OpStackGlobal {
		t.Fatalf("err = %v, want the callback's error at STACK_GLOBAL, offset 16", err)
	}
}

// TestRefuse: a refused opcode stops decoding before its argument is read,
// with ErrRefused naming the opcode and its offset.
func TestRefuse(t *testing.T) {
	var refuse OpSet
	refuse[OpBinUnicode] = true
	refuse[0xff] = true // not an opcode at all
	cases := []struct {
		name string
		data string
		off  int64
		op   byte
	}{
		// 0: PROTO 2; 2: EMPTY_LIST; 3: BINUNICODE whose 4-byte length runs past the end.
		{"before its truncated argument", "\x80\x02]X\xff\xff", 3, OpBinUnicode},
		{"unknown opcode", "\x80\x02N\xff.", 3, 0xff},
	}
	for _, c := range cases {
		_, err := Unmarshal([]byte(c.data), &Options{Refuse: &refuse})
		var oe *OpcodeError
		if !errors.Is(err, ErrRefused) || !errors.As(err, &oe) || oe.Offset != c.off || oe.Op != c.op {
			t.Errorf("%s: err = %v, want ErrRefused at offset %d, opcode 0x%02x", c.name, err, c.off, c.op)
		}
	}
	// Without the set the same bytes fail as they are: truncated, unknown.
	if _, err := Unmarshal([]byte(cases[0].data), nil); !errors.Is(err, ErrTruncated) {
		t.Errorf("unrefused: err = %v, want ErrTruncated", err)
	}
	if _, err := Unmarshal([]byte(cases[1].data), nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("unrefused: err = %v, want ErrMalformed", err)
	}
}

// TestShared: Decoder.Shared is set exactly when a container can be reached
// twice (memo GET or DUP of a container), not for shared strings or unused memo
// entries.
func TestShared(t *testing.T) {
	cases := map[string]bool{
		"\x80\x02]q\x00h\x00\x86.":                  true,  // (L, L): GET of a list
		"\x80\x02]q\x00K\x01\x86.":                  false, // (L, 1): L memoized, never fetched
		"\x80\x02X\x01\x00\x00\x00aq\x00h\x00\x86.": false, // ('a', 'a'): a shared string
		"\x80\x02K\x01\x852\x86.":                   true,  // DUP of (1,)
	}
	for data, want := range cases {
		d := NewBytesDecoder([]byte(data), nil)
		if _, err := d.Decode(); err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		if d.Shared() != want {
			t.Errorf("%q: Shared() = %v, want %v", data, d.Shared(), want)
		}
	}
}

// TestReduceHook: Options.Reduce is offered each REDUCE (not NEWOBJ) with its
// callable and arguments; its value replaces the Object when it accepts, and
// its error stops decoding at the REDUCE.
func TestReduceHook(t *testing.T) {
	// 0: PROTO 2; 2: GLOBAL m.f; 7: BININT1 7; 9: TUPLE1; 10: REDUCE;
	// 11: GLOBAL m.g; 16: EMPTY_TUPLE; 17: NEWOBJ; 18: TUPLE2; 19: STOP
	// (offsets as pickletools.dis prints them).
	data := []byte("\x80\x02cm\nf\nK\x07\x85Rcm\ng\n)\x81\x86.")
	var offered []Value
	hook := func(accept bool, fail error) *Options {
		return &Options{Reduce: func(callable Value, args Tuple) (Value, bool, error) {
			offered = append(offered, callable)
			if len(args) != 1 || args[0] != int64(7) {
				t.Errorf("args %v, want (7,)", args)
			}
			return "built", accept, fail
		}}
	}
	v, err := Unmarshal(data, hook(true, nil))
	if err != nil {
		t.Fatal(err)
	}
	pair := v.(Tuple)
	if pair[0] != "built" || len(offered) != 1 || offered[0] != (Global{"m", "f"}) {
		t.Fatalf("accepted: value %v, offered %v", v, offered)
	}
	if o, ok := pair[1].(*Object); !ok || o.Kind != NewObj {
		t.Fatalf("NEWOBJ gave %v", pair[1])
	}
	v, err = Unmarshal(data, hook(false, nil))
	if o, ok := v.(Tuple)[0].(*Object); err != nil || !ok || o.Kind != Reduce || o.Args[0] != int64(7) {
		t.Fatalf("declined: %v, %v", v, err)
	}
	stop := errors.New("no")
	_, err = Unmarshal(data, hook(false, stop))
	var oe *OpcodeError
	if !errors.Is(err, stop) || !errors.As(err, &oe) || oe.Offset != 10 || oe.Op != OpReduce {
		t.Fatalf("failing hook: err = %v, want it at REDUCE, offset 10", err)
	}
}
