package npy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pthkit/pth/tensor"
)

const fixtures = "../testdata/nn/npy"

type indexEntry struct {
	File    string  `json:"file"`
	Member  string  `json:"name"` // check-npy output: the npz member name
	Descr   string  `json:"descr"`
	Shape   []int64 `json:"shape"`
	Fortran bool    `json:"fortran"`
	Values  []any   `json:"values"`
}

func loadIndex(t testing.TB) []indexEntry {
	b, err := os.ReadFile(filepath.Join(fixtures, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx []indexEntry
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

// complexValues decodes a complex tensor into (re, im) pairs.
func complexValues(t *testing.T, x *tensor.Tensor) [][2]float64 {
	b, err := x.ContiguousBytes()
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]float64
	switch x.DType {
	case tensor.Complex64:
		for i := 0; i+8 <= len(b); i += 8 {
			out = append(out, [2]float64{float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))),
				float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i+4:])))})
		}
	case tensor.Complex128:
		for i := 0; i+16 <= len(b); i += 16 {
			out = append(out, [2]float64{math.Float64frombits(binary.LittleEndian.Uint64(b[i:])),
				math.Float64frombits(binary.LittleEndian.Uint64(b[i+8:]))})
		}
	}
	return out
}

func checkValues(t *testing.T, name string, x *tensor.Tensor, want []any) {
	t.Helper()
	if x.DType.IsComplex() {
		got := complexValues(t, x)
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, numpy has %d", name, len(got), len(want))
		}
		for i, w := range want {
			pair := w.([]any)
			if got[i][0] != pair[0].(float64) || got[i][1] != pair[1].(float64) {
				t.Fatalf("%s[%d] = %v, numpy %v", name, i, got[i], pair)
			}
		}
		return
	}
	got, err := x.Float64s()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, numpy has %d", name, len(got), len(want))
	}
	for i, w := range want {
		if got[i] != w.(float64) {
			t.Fatalf("%s[%d] = %v, numpy %v", name, i, got[i], w)
		}
	}
}

// TestReadNumpyFiles reads every file numpy wrote (each dtype, both byte orders,
// Fortran order, 0-d, empty, header versions 2 and 3) and compares with numpy's values.
func TestReadNumpyFiles(t *testing.T) {
	for _, e := range loadIndex(t) {
		x, err := ReadFile(filepath.Join(fixtures, e.File))
		if err != nil {
			t.Fatalf("%s: %v", e.File, err)
		}
		if len(x.Shape) != len(e.Shape) {
			t.Fatalf("%s: shape %v, numpy %v", e.File, x.Shape, e.Shape)
		}
		for i := range e.Shape {
			if x.Shape[i] != e.Shape[i] {
				t.Fatalf("%s: shape %v, numpy %v", e.File, x.Shape, e.Shape)
			}
		}
		dt, _, err := parseDescr(e.Descr)
		if err != nil || dt != x.DType {
			t.Fatalf("%s: dtype %v, numpy %s (%v)", e.File, x.DType, e.Descr, err)
		}
		checkValues(t, e.File, x, e.Values)
	}
}

// TestWriteMatchesNumpyBytes: writing what we read reproduces numpy.save's file byte for
// byte (little-endian C-order files), and a big-endian file re-written equals numpy's
// little-endian file of the same values.
func TestWriteMatchesNumpyBytes(t *testing.T) {
	for _, e := range loadIndex(t) {
		if e.Fortran || e.File == "i8_v2.npy" || e.File == "i8_v3.npy" {
			continue
		}
		x, err := ReadFile(filepath.Join(fixtures, e.File))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, x); err != nil {
			t.Fatalf("%s: %v", e.File, err)
		}
		ref := e.File
		if n := len(ref); ref[n-7:] == "_be.npy" {
			ref = ref[:n-7] + "_le.npy"
		}
		want, err := os.ReadFile(filepath.Join(fixtures, ref))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: our bytes differ from numpy's %s\nours:  %q\nnumpy: %q", e.File, ref, buf.Bytes()[:min(80, buf.Len())], want[:min(80, len(want))])
		}
	}
}

func TestNPZ(t *testing.T) {
	stored, err := ReadNPZFile(filepath.Join(fixtures, "stored.npz"))
	if err != nil {
		t.Fatal(err)
	}
	// np.savez(a=np.arange(5, dtype="<f4"), b=np.eye(2, dtype="<i2"))
	if len(stored) != 2 || stored[0].Name != "a" || stored[1].Name != "b" {
		t.Fatalf("stored.npz members %+v", stored)
	}
	checkValues(t, "a", stored[0].Tensor, []any{0.0, 1.0, 2.0, 3.0, 4.0})
	checkValues(t, "b", stored[1].Tensor, []any{1.0, 0.0, 0.0, 1.0})
	if stored[1].Tensor.DType != tensor.Int16 {
		t.Fatalf("b dtype %v", stored[1].Tensor.DType)
	}
	defl, err := ReadNPZFile(filepath.Join(fixtures, "deflated.npz"))
	if err != nil {
		t.Fatal(err)
	}
	// np.savez_compressed(x=np.linspace(0, 1, 7), y=np.array([True, False]))
	if len(defl) != 2 || defl[0].Name != "x" || defl[1].Name != "y" || defl[1].Tensor.DType != tensor.Bool {
		t.Fatalf("deflated.npz members %+v", defl)
	}
	xs, _ := defl[0].Tensor.Float64s()
	for i, v := range xs {
		if math.Abs(v-float64(i)/6) > 1e-15 {
			t.Fatalf("x[%d] = %v", i, v)
		}
	}
	checkValues(t, "y", defl[1].Tensor, []any{1.0, 0.0})
}

func TestRefusals(t *testing.T) {
	if _, err := ReadFile(filepath.Join(fixtures, "object.npy")); !errors.Is(err, ErrObject) {
		t.Fatalf("object array: %v, want ErrObject", err)
	}
	good, err := os.ReadFile(filepath.Join(fixtures, "f4_le.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBytes(good[:len(good)-1]); !errors.Is(err, ErrSize) {
		t.Fatalf("truncated: %v, want ErrSize", err)
	}
	if _, err := ReadBytes(append(append([]byte{}, good...), 0)); !errors.Is(err, ErrSize) {
		t.Fatalf("trailing byte: %v, want ErrSize", err)
	}
	bad := append([]byte{}, good...)
	bad[0] = 'X'
	if _, err := ReadBytes(bad); !errors.Is(err, ErrFormat) {
		t.Fatalf("bad magic: %v, want ErrFormat", err)
	}
	huge := []byte(Magic + "\x02\x00\xff\xff\xff\x7f")
	if _, err := ReadBytes(huge); !errors.Is(err, ErrHeader) {
		t.Fatalf("huge header length: %v, want ErrHeader", err)
	}
	for _, hdr := range []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807), }",
		"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
		"{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }",
		"{'descr': '<f4', 'fortran_order': False, }",
		"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
	} {
		b := []byte(Magic + "\x01\x00")
		b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)+1))
		b = append(append(b, hdr...), '\n')
		_, err := ReadBytes(b)
		if !errors.Is(err, ErrHeader) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrSize) {
			t.Errorf("%s: %v", hdr, err)
		}
	}
	// A header claiming a huge shape over a short stream fails without allocating it.
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }"
	b := []byte(Magic + "\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)+1))
	b = append(append(b, hdr...), '\n')
	if _, err := Read(bytes.NewReader(b)); !errors.Is(err, ErrSize) {
		t.Fatalf("short stream: %v, want ErrSize", err)
	}
}

// TestNumpyLoadsOurFiles writes .npy/.npz files and has numpy load them.
func TestNumpyLoadsOurFiles(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("numpy is required in CI: %v", err)
		}
		t.Skip("no /usr/bin/python3 with numpy")
	}
	dir := t.TempDir()
	var arrays []Array
	for _, e := range loadIndex(t) {
		x, err := ReadFile(filepath.Join(fixtures, e.File))
		if err != nil {
			t.Fatal(err)
		}
		arrays = append(arrays, Array{Name: e.File[:len(e.File)-4], Tensor: x})
	}
	for _, compress := range []bool{false, true} {
		path := filepath.Join(dir, "ours.npz")
		if err := WriteNPZFile(path, arrays, compress); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(py, "../testdata/gen/nn_fixtures.py", "check-npy", path).Output()
		if err != nil {
			t.Fatalf("numpy could not load our npz: %v", err)
		}
		var got []indexEntry
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		idx := loadIndex(t)
		if len(got) != len(idx) {
			t.Fatalf("numpy sees %d arrays, want %d", len(got), len(idx))
		}
		for i, e := range idx {
			g := got[i]
			if g.Member != arrays[i].Name {
				t.Fatalf("member %d is %q", i, g.Member)
			}
			wantDescr := e.Descr
			if wantDescr[0] == '>' {
				wantDescr = "<" + wantDescr[1:]
			}
			if g.Descr != wantDescr {
				t.Errorf("%s: numpy reads descr %s, want %s", e.File, g.Descr, wantDescr)
			}
			gb, _ := json.Marshal(g.Values)
			wb, _ := json.Marshal(e.Values)
			if !bytes.Equal(gb, wb) {
				t.Errorf("%s: numpy reads %s, want %s", e.File, gb, wb)
			}
		}
	}
}

func FuzzRead(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(fixtures, "*.npy"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadBytes(b)
		if err == nil {
			if _, err := x.ContiguousBytes(); err != nil {
				t.Fatalf("accepted file gives an invalid tensor: %v", err)
			}
		}
		_, _ = Read(bytes.NewReader(b))
	})
}

func FuzzReadNPZ(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(fixtures, "*.npz"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ReadNPZ(bytes.NewReader(b), int64(len(b)))
	})
}
