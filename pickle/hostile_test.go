package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestTruncatedEverywhere cuts golden files at every byte offset: each prefix
// must fail with ErrTruncated inside an *OpcodeError, never panic.
func TestTruncatedEverywhere(t *testing.T) {
	g := loadGolden(t)
	files := 0
	for _, name := range goldenNames(g) {
		data := readGoldenFile(t, name)
		step := 1
		if len(data) > 1024 {
			step = len(data)/128 + 1 // big files: ~128 cuts each, spread over the file
		}
		files++
		for cut := 0; cut < len(data); cut += step {
			_, err := Unmarshal(data[:cut], nil)
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("%s cut at %d/%d: err = %v, want ErrTruncated", name, cut, len(data), err)
			}
			var oe *OpcodeError
			if !errors.As(err, &oe) {
				t.Fatalf("%s cut at %d: %T is not an *OpcodeError", name, cut, err)
			}
		}
	}
	if files < 300 {
		t.Fatalf("only %d files", files)
	}
}

// billionLaughs builds levels of lists, each holding `width` references (BINGET)
// to the previous level: a few KB of pickle describing width^levels elements.
func billionLaughs(levels, width int, dup bool) []byte {
	var b bytes.Buffer
	b.Write([]byte{OpProto, 2, OpEmptyList, OpBinPut, 0, OpMark})
	for range width {
		b.Write([]byte{OpBinInt1, 7})
	}
	b.WriteByte(OpAppends)
	for l := 1; l < levels; l++ {
		b.Write([]byte{OpEmptyList, OpBinPut, byte(l), OpMark})
		for range width {
			if dup {
				b.Write([]byte{OpBinGet, byte(l - 1)})
			} else {
				b.Write([]byte{OpBinGet, byte(l - 1)})
			}
		}
		b.WriteByte(OpAppends)
	}
	b.WriteByte(OpStop)
	return b.Bytes()
}

func TestMemoBomb(t *testing.T) {
	data := billionLaughs(30, 10, false) // 10^30 elements if expanded
	_, err := Unmarshal(data, nil)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	// The same shape at a harmless size decodes, sharing the lists.
	v, err := Unmarshal(billionLaughs(3, 10, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	top := v.(*List)
	if len(top.Items) != 10 || top.Items[0] != top.Items[9] {
		t.Fatalf("shared references not kept: %#v", top.Items[:2])
	}
}

func TestDupBomb(t *testing.T) {
	// [x]*10, then DUP + APPEND-into-new-list pattern via DUP: list of 2 refs of list of 2 refs ...
	var b bytes.Buffer
	b.Write([]byte{OpProto, 2, OpEmptyList, OpMark})
	for range 100 {
		b.Write([]byte{OpBinInt1, 1})
	}
	b.WriteByte(OpAppends)
	for range 60 {
		// stack: L → L L → (L, L) tuple: each level doubles the expanded size.
		b.Write([]byte{OpDup, OpTuple2})
	}
	b.WriteByte(OpStop)
	_, err := Unmarshal(b.Bytes(), nil)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
}

func TestMemoLimit(t *testing.T) {
	var b bytes.Buffer
	b.Write([]byte{OpProto, 2, OpNone})
	for i := range 100 {
		b.WriteByte(OpLongBinPut)
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(i)))
	}
	b.WriteByte(OpStop)
	lim := DefaultLimits(int64(b.Len()))
	lim.MaxMemo = 10
	_, err := Unmarshal(b.Bytes(), &Options{Limits: lim})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	if _, err := Unmarshal(b.Bytes(), nil); err != nil {
		t.Fatalf("default limits: %v", err)
	}
	// Fields left zero take their defaults.
	if _, err := Unmarshal(b.Bytes(), &Options{Limits: Limits{MaxAlloc: 1 << 20}}); err != nil {
		t.Fatalf("partial limits: %v", err)
	}
}

func TestDeepNesting(t *testing.T) {
	const n = 1_000_000
	cases := map[string][]byte{
		"marks":       append(bytes.Repeat([]byte{OpMark}, n), OpNone, OpStop),
		"empty_lists": append(append(bytes.Repeat([]byte{OpEmptyList}, n), bytes.Repeat([]byte{OpAppend}, n-1)...), OpStop),
		"tuple1":      append(append([]byte{OpNone}, bytes.Repeat([]byte{OpTuple1}, n)...), OpStop),
		"mark_list":   append(append(bytes.Repeat([]byte{OpMark}, 5000), bytes.Repeat([]byte{OpList}, 5000)...), OpStop),
	}
	for name, data := range cases {
		lim := DefaultLimits(int64(len(data)))
		if name == "mark_list" {
			lim.MaxDepth = 1000
		}
		_, err := Unmarshal(data, &Options{Limits: lim})
		if !errors.Is(err, ErrLimit) {
			t.Errorf("%s: err = %v, want ErrLimit", name, err)
		}
	}
}

func TestHugeLengths(t *testing.T) {
	le64 := func(op byte, n uint64) []byte {
		return append([]byte{OpProto, 4, op}, binary.LittleEndian.AppendUint64(nil, n)...)
	}
	le32 := func(op byte, n uint32) []byte {
		return append([]byte{OpProto, 2, op}, binary.LittleEndian.AppendUint32(nil, n)...)
	}
	cases := map[string][]byte{
		"binunicode8_2^60": le64(OpBinUnicode8, 1<<60),
		"binbytes8_2^64-1": le64(OpBinBytes8, ^uint64(0)),
		"bytearray8_2^40":  le64(OpByteArray8, 1<<40),
		"frame_2^63":       le64(OpFrame, 1<<63),
		"binunicode_4G":    le32(OpBinUnicode, 0xffffffff),
		"binbytes_4G":      le32(OpBinBytes, 0xffffffff),
		"long4_2G":         le32(OpLong4, 0x7fffffff),
		"int_digits":       append(append([]byte{OpInt}, strings.Repeat("9", 5000)...), '\n', OpStop),
	}
	for name, data := range cases {
		_, err := Unmarshal(data, nil)
		if !errors.Is(err, ErrLimit) {
			t.Errorf("%s: err = %v, want ErrLimit", name, err)
		}
	}
	// With a generous MaxAlloc the declared length is allowed, but the input is
	// short: the reader grows its buffer only as bytes arrive.
	_, err := Unmarshal(append(le64(OpBinBytes8, 1<<36), "abc"...), &Options{Limits: Limits{MaxMemo: 10, MaxElements: 10, MaxDepth: 10, MaxAlloc: 1 << 40}})
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("short input with large limit: err = %v, want ErrTruncated", err)
	}
}

func TestMalformed(t *testing.T) {
	cases := map[string]struct {
		data []byte
		want error
	}{
		"unknown opcode":   {[]byte{OpProto, 2, 0xff, OpStop}, ErrMalformed},
		"stack underflow":  {[]byte{OpProto, 2, OpAppend, OpStop}, ErrMalformed},
		"stop empty":       {[]byte{OpStop}, ErrMalformed},
		"memo miss":        {[]byte{OpBinGet, 3, OpStop}, ErrMalformed},
		"pop below mark":   {[]byte{OpNone, OpMark, OpTuple2, OpStop}, ErrMalformed},
		"odd setitems":     {[]byte{OpEmptyDict, OpMark, OpNone, OpSetItems, OpStop}, ErrMalformed},
		"append to int":    {[]byte{OpBinInt1, 1, OpNone, OpAppend, OpStop}, ErrMalformed},
		"unquoted STRING":  {[]byte("Sabc\n."), ErrMalformed},
		"hex GET":          {[]byte("Np0\ng0x0\n."), ErrMalformed},
		"negative PUT":     {[]byte("Np-1\n."), ErrMalformed},
		"huge GET":         {[]byte("Ng99999999999999999999\n."), ErrMalformed},
		"bad INT":          {[]byte("I12x\n."), ErrMalformed},
		"octal-like INT":   {[]byte("I010\n."), ErrMalformed},
		"bad escape":       {[]byte("S'\\x4'\n."), ErrMalformed},
		"bad \\u":          {[]byte("V\\u12\n."), ErrMalformed},
		"stack_global int": {[]byte{OpProto, 4, OpBinInt1, 1, OpBinInt1, 2, OpStackGlobal, OpStop}, ErrMalformed},
		"ext zero":         {[]byte{OpProto, 2, OpExt1, 0, OpStop}, ErrMalformed},
		"negative LONG4":   {[]byte{OpProto, 2, OpLong4, 0xff, 0xff, 0xff, 0xff, OpStop}, ErrMalformed},
		"negative BINSTR":  {[]byte{OpBinString, 0xff, 0xff, 0xff, 0xff, OpStop}, ErrMalformed},
		"protocol 6":       {[]byte{OpProto, 6, OpNone, OpStop}, ErrUnsupported},
		"next_buffer":      {[]byte{OpProto, 5, OpNextBuffer, OpStop}, ErrUnsupported},
		"readonly_buffer":  {[]byte{OpProto, 5, OpNone, OpReadonlyBuffer, OpStop}, ErrUnsupported},
		"build on list":    {[]byte{OpEmptyList, OpNone, OpBuild, OpStop}, ErrUnsupported},
		"reduce non-tuple": {[]byte{OpGlobal, 'a', '\n', 'b', '\n', OpNone, OpReduce, OpStop}, ErrMalformed},
	}
	for name, c := range cases {
		_, err := Unmarshal(c.data, nil)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
			continue
		}
		var oe *OpcodeError
		if !errors.As(err, &oe) {
			t.Errorf("%s: %T is not an *OpcodeError", name, err)
		}
	}
	// The message names the offset and the opcode.
	_, err := Unmarshal([]byte{OpProto, 2, OpNone, OpNone, OpAppend, OpStop}, nil)
	if err == nil || !strings.Contains(err.Error(), "offset 4") || !strings.Contains(err.Error(), "APPEND") {
		t.Errorf("message %q should name offset 4 and APPEND", err)
	}
}

// TestTextMemoIndex: PUT/GET text is base 10 and "00"/"01" are indices 0 and 1
// (CPython's load_put/load_get use int()), not the booleans INT gives them.
func TestTextMemoIndex(t *testing.T) {
	v, err := Unmarshal([]byte("(N(lp00\nI5\nap01\n0g00\ng01\nt."), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := Sprint(v); got != "(None, [5], [5])" {
		t.Fatalf("got %s", got)
	}
}

func TestOpReaderEOF(t *testing.T) {
	r := NewOpReader(bytes.NewReader([]byte{OpNone, OpStop}), Limits{})
	for range 2 {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("clean end: %v, want io.EOF", err)
	}
	r = NewOpReader(bytes.NewReader([]byte{OpBinInt, 1, 2}), Limits{})
	if _, err := r.Next(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("cut argument: %v, want ErrTruncated", err)
	}
	d := NewDecoder(bytes.NewReader(nil), nil)
	if _, err := d.Decode(); err != io.EOF {
		t.Fatalf("Decode at end: %v, want io.EOF", err)
	}
}

func TestPersistentLoad(t *testing.T) {
	data := []byte("(Pstorage_0\nPstorage_1\nl.")
	calls := 0
	v, err := Unmarshal(data, &Options{PersistentLoad: func(id Value) (Value, error) {
		calls++
		return "loaded:" + id.(string), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	l := v.(*List)
	if calls != 2 || l.Items[0] != "loaded:storage_0" || l.Items[1] != "loaded:storage_1" {
		t.Fatalf("got %#v after %d calls", l.Items, calls)
	}
	boom := errors.New("boom")
	_, err = Unmarshal(data, &Options{PersistentLoad: func(Value) (Value, error) { return nil, boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the hook's error", err)
	}
}

// TestHostileDictKeys: deeply nested or huge tuple keys cost bounded time, and
// tuple keys whose text could collide stay distinct.
func TestHostileDictKeys(t *testing.T) {
	var b bytes.Buffer
	b.Write([]byte{OpProto, 2, OpEmptyDict, OpNone})
	for range 5000 {
		b.WriteByte(OpTuple1)
	}
	b.Write([]byte{OpBinPut, 0, OpNone, OpSetItem})
	for range 200 {
		b.Write([]byte{OpBinGet, 0, OpNone, OpSetItem})
	}
	b.WriteByte(OpStop)
	if _, err := Unmarshal(b.Bytes(), nil); err != nil {
		t.Fatal(err)
	}
	d := NewDict()
	d.Set(Tuple{"a,string:b"}, int64(1))
	d.Set(Tuple{"a", "b"}, int64(2))
	d.Set(Tuple{"a", "b"}, int64(3))
	if d.Len() != 2 {
		t.Fatalf("got %d entries, want 2: %s", d.Len(), Sprint(d))
	}
}

// TestHugeIntKey: a 4 MB LONG4 used as a dict key and printed costs linear time
// (no decimal formatting of the number).
func TestHugeIntKey(t *testing.T) {
	const n = 4 << 20
	b := []byte{OpProto, 2, OpEmptyDict, OpLong4}
	b = binary.LittleEndian.AppendUint32(b, n)
	b = append(b, bytes.Repeat([]byte{0x5a}, n)...)
	b = append(b, OpNone, OpSetItem, OpStop)
	v, err := Unmarshal(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Sprint(v), "{<int of 33554431 bits>: None}"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
