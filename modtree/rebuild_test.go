package modtree

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// TestRebuildTensorMetadata: _rebuild_tensor_v2's 7th argument, as PyTorch
// 2.6 reads it (torch._utils.set_tensor_metadata: a key sets its bit whatever
// its value; None and {} set none).
func TestRebuildTensorMetadata(t *testing.T) {
	c64 := make([]byte, 16) // complex64 [1+2j, 3-4j]
	for i, f := range []float32{1, 2, 3, -4} {
		binary.LittleEndian.PutUint32(c64[4*i:], math.Float32bits(f))
	}
	dict := func(keys ...string) *pickle.Dict {
		d := pickle.NewDict()
		for _, k := range keys {
			d.Set(k, true)
		}
		return d
	}
	args := func(dt tensor.DType, md pickle.Value) pickle.Tuple {
		st := tensor.NewStorage(dt, c64)
		n := int64(len(c64) / dt.Size())
		return pickle.Tuple{st, int64(0), pickle.Tuple{n}, pickle.Tuple{int64(1)}, false, nil, md}
	}
	for _, tc := range []struct {
		md        pickle.Value
		conj, neg bool
		want      []float32 // complex64 parts
	}{
		{dict("conj"), true, false, []float32{1, -2, 3, 4}},
		{dict("neg"), false, true, []float32{-1, -2, -3, 4}},
		{dict("neg", "conj"), true, true, []float32{-1, 2, -3, -4}},
		{nil, false, false, []float32{1, 2, 3, -4}},
		{dict(), false, false, []float32{1, 2, 3, -4}},
	} {
		x, err := RebuildTensor(args(tensor.Complex64, tc.md))
		if err != nil {
			t.Fatal(err)
		}
		if x.Conj != tc.conj || x.Neg != tc.neg {
			t.Errorf("%v: conj %v neg %v", tc.md, x.Conj, x.Neg)
		}
		b, err := x.ContiguousBytes()
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])); got != w {
				t.Errorf("%v: part %d is %v, want %v", tc.md, i, got, w)
			}
		}
	}
	_, err := RebuildTensor(args(tensor.Complex64, dict("neg", "foo")))
	if !errors.Is(err, ErrTensor) || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "'foo'") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := RebuildTensor(args(tensor.Float32, dict("conj"))); !errors.Is(err, tensor.ErrDType) {
		t.Errorf("conj on float32: %v, want tensor.ErrDType", err)
	}
	if _, err := RebuildTensor(args(tensor.Complex64, pickle.Tuple{"neg"})); !errors.Is(err, ErrTensor) {
		t.Errorf("metadata not a dict: %v, want ErrTensor", err)
	}
}
