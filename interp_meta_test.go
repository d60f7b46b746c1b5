package pth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/zipfile"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// metaPickle builds a data.pkl {'w': _rebuild_tensor_v2(<FloatStorage of 4>,
// 0, (4,), (1,), False, OrderedDict(), metadata)}.
func metaPickle(t *testing.T, metadata pickle.Value) []byte {
	t.Helper()
	pid := pickle.PersistentID{ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: "FloatStorage"}, "0", "cpu", int64(4)}}
	v := pickle.NewDict()
	v.Set("w", reduce(gRebuildV2, pid, int64(0), pickle.Tuple{int64(4)}, pickle.Tuple{int64(1)}, false, emptyOrderedDict(), metadata))
	b, err := pickle.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func metaDict(kv ...pickle.Value) *pickle.Dict {
	d := pickle.NewDict()
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

// metaOptions are the three ways a torch.save file's tensors are built: the
// splice fast path, the decoder's Reduce hook, and the weights-only interpreter.
var metaOptions = map[string]*Options{"default": nil, "noSplice": {noSplice: true}, "weightsOnly": {WeightsOnly: true}}

// TestRebuildMetadata: _rebuild_tensor_v2's 7th argument, as PyTorch 2.6's
// torch._utils.set_tensor_metadata reads it (checked there: a key sets its bit
// whatever its value, None and {} set nothing).
func TestRebuildMetadata(t *testing.T) {
	storage := make([]byte, 16)
	for i, f := range []float32{1, -2, 0, 3} {
		binary.LittleEndian.PutUint32(storage[4*i:], math.Float32bits(f))
	}
	negZero := float32(math.Copysign(0, -1))
	for _, tc := range []struct {
		name string
		md   pickle.Value
		neg  bool
		err  error
		msg  string
	}{
		{"neg", metaDict("neg", true), true, nil, ""},
		{"neg False", metaDict("neg", false), true, nil, ""}, // PyTorch 2.6 sets the bit too
		{"None", nil, false, nil, ""},
		{"empty", metaDict(), false, nil, ""},
		{"unknown key", metaDict("neg", true, "foo", true), false, ErrUnsupported, "'foo'"},
		{"conj on float32", metaDict("conj", true), false, ErrInvalid, "conjugate bit on a float32 tensor"},
		{"not a dict", pickle.Tuple{"neg"}, false, ErrInvalid, "metadata"},
	} {
		z := handZip(t, metaPickle(t, tc.md), storage)
		for oname, opts := range metaOptions {
			f, err := NewReader(bytes.NewReader(z), int64(len(z)), opts)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(fmtErr(err), tc.msg) {
					t.Errorf("%s (%s): got %v, want %v with %q", tc.name, oname, err, tc.err, tc.msg)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s (%s): %v", tc.name, oname, err)
				continue
			}
			x := leaves(t, f.Root)["w"].(*tensor.Tensor)
			if x.Neg != tc.neg || x.Conj {
				t.Errorf("%s (%s): conj %v neg %v", tc.name, oname, x.Conj, x.Neg)
			}
			got, err := x.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			want := []float32{1, -2, 0, 3}
			if tc.neg {
				want = []float32{-1, 2, negZero, -3}
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Errorf("%s (%s): values %v, want %v", tc.name, oname, got, want)
					break
				}
			}
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestRebuildMetadataV3: _rebuild_tensor_v3 (dtypes saved over an
// UntypedStorage) carries the metadata as its 8th argument; a Parameter keeps
// its data's bits; Save writes both back and they read the same again.
func TestRebuildMetadataV3(t *testing.T) {
	pid := pickle.PersistentID{ID: pickle.Tuple{"storage", gUntyped, "0", "cpu", int64(4)}}
	v := pickle.NewDict()
	v.Set("u", reduce(gRebuildV3, pid, int64(0), pickle.Tuple{int64(2)}, pickle.Tuple{int64(1)}, false, emptyOrderedDict(),
		pickle.Global{Module: "torch", Name: "uint16"}, metaDict("neg", true)))
	data := reduce(gRebuildV2, pickle.PersistentID{ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: "ComplexFloatStorage"}, "1", "cpu", int64(1)}},
		int64(0), pickle.Tuple{int64(1)}, pickle.Tuple{int64(1)}, false, emptyOrderedDict(), metaDict("neg", true, "conj", true))
	v.Set("p", reduce(gRebuildParam, data, true, emptyOrderedDict()))
	pkl, err := pickle.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zipfile.NewWriter(&out, "x")
	c64 := make([]byte, 8)
	binary.LittleEndian.PutUint32(c64, math.Float32bits(1))
	binary.LittleEndian.PutUint32(c64[4:], math.Float32bits(2))
	for _, r := range []struct {
		name string
		b    []byte
	}{{"data.pkl", pkl}, {"data/0", []byte{1, 0, 0, 0}}, {"data/1", c64}, {"version", []byte("3\n")}} {
		if err := zw.WriteRecord(r.name, r.b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(what string, root Value) {
		lv := leaves(t, root)
		u := lv["u"].(*tensor.Tensor)
		if got, err := u.Int64s(); err != nil || !u.Neg || got[0] != 65535 || got[1] != 0 {
			t.Errorf("%s: uint16 negative view: %v %v (neg %v), want [65535 0]", what, got, err, u.Neg)
		}
		p := lv["p"].(*Parameter)
		b, err := p.Tensor.ContiguousBytes()
		if err != nil || !p.Tensor.Conj || !p.Tensor.Neg || !p.RequiresGrad {
			t.Fatalf("%s: parameter %+v: %v", what, p.Tensor, err)
		}
		// -(conj(1+2j)) = -1+2j
		if re, im := math.Float32frombits(binary.LittleEndian.Uint32(b)), math.Float32frombits(binary.LittleEndian.Uint32(b[4:])); re != -1 || im != 2 {
			t.Errorf("%s: parameter value %v%+vi, want -1+2i", what, re, im)
		}
	}
	for oname, opts := range metaOptions {
		f, err := NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()), opts)
		if err != nil {
			t.Fatalf("%s: %v", oname, err)
		}
		check(oname, f.Root)
	}
	f, _ := NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()), nil)
	var saved bytes.Buffer
	if err := SaveTo(&saved, "x", f.Root); err != nil {
		t.Fatal(err)
	}
	g, err := NewReader(bytes.NewReader(saved.Bytes()), int64(saved.Len()), &Options{WeightsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	check("saved", g.Root)
	// With both bits the dict is {'neg': True, 'conj': True}, PyTorch 2.6's order.
	if !bytes.Contains(saved.Bytes(), []byte("X\x03\x00\x00\x00negq")) {
		t.Error("saved data.pkl lacks the 'neg' metadata key")
	}
	lp := leaves(t, g.Root)["p"].(*Parameter)
	md, err := tensorMetadata(lp.Tensor)
	if err != nil || len(md.Entries) != 2 || md.Entries[0].Key != "neg" || md.Entries[1].Key != "conj" {
		t.Errorf("metadata of a conj+neg view: %+v %v", md, err)
	}
	// Bits PyTorch could not load are refused when saving.
	bad := tensor.FromFloat32([]int64{1}, []float32{1})
	bad.Conj = true
	if err := SaveTo(&bytes.Buffer{}, "x", bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("saving a conjugate float32 view: %v, want ErrInvalid", err)
	}
}
