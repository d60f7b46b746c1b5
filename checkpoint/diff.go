package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"github.com/pthkit/pth/tensor"
)

// TensorDiff describes a tensor present in both checkpoints that differs.
type TensorDiff struct {
	Name   string  `json:"name"`
	DTypeA string  `json:"dtype_a"`
	DTypeB string  `json:"dtype_b"`
	ShapeA []int64 `json:"shape_a"`
	ShapeB []int64 `json:"shape_b"`
	// Compared is set when the values were compared (same shape, real or
	// complex dtypes); MaxAbs and MaxRel are then the largest |a−b| and
	// |a−b|/|b| over all elements (NaN in the same place counts as equal;
	// NaN against a number, or a non-zero a against b = 0, gives +Inf).
	Compared bool    `json:"compared"`
	MaxAbs   float64 `json:"max_abs"`
	MaxRel   float64 `json:"max_rel"`
	// Differing is the number of elements that are not equal.
	Differing int64 `json:"differing"`
	// Note explains a tensor that could not be compared.
	Note string `json:"note,omitempty"`
}

// DiffResult is the outcome of Diff.
type DiffResult struct {
	OnlyA     []string     `json:"only_a"`
	OnlyB     []string     `json:"only_b"`
	Different []TensorDiff `json:"different"`
	// Identical counts the common tensors with the same dtype, shape and bytes.
	Identical int `json:"identical"`
}

// Equal reports whether both checkpoints hold the same names with identical
// dtypes, shapes and bytes.
func (d *DiffResult) Equal() bool {
	return len(d.OnlyA) == 0 && len(d.OnlyB) == 0 && len(d.Different) == 0
}

// DiffFiles opens both paths and compares them.
func DiffFiles(a, b string) (*DiffResult, error) {
	ca, err := Open(a)
	if err != nil {
		return nil, err
	}
	defer ca.Close()
	cb, err := Open(b)
	if err != nil {
		return nil, err
	}
	defer cb.Close()
	return Diff(ca, cb)
}

// Diff compares a and b tensor by tensor, reading one pair at a time.
func Diff(a, b Checkpoint) (*DiffResult, error) {
	res := &DiffResult{OnlyA: []string{}, OnlyB: []string{}, Different: []TensorDiff{}}
	inB := map[string]bool{}
	for _, n := range b.Names() {
		inB[n] = true
	}
	inA := map[string]bool{}
	for _, name := range a.Names() {
		inA[name] = true
		if !inB[name] {
			res.OnlyA = append(res.OnlyA, name)
			continue
		}
		td, same, err := diffTensor(a, b, name)
		if err != nil {
			return nil, err
		}
		if same {
			res.Identical++
		} else {
			res.Different = append(res.Different, td)
		}
	}
	for _, n := range b.Names() {
		if !inA[n] {
			res.OnlyB = append(res.OnlyB, n)
		}
	}
	sort.Strings(res.OnlyA)
	sort.Strings(res.OnlyB)
	return res, nil
}

func diffTensor(a, b Checkpoint, name string) (TensorDiff, bool, error) {
	ia, err := a.Info(name)
	if err != nil {
		return TensorDiff{}, false, err
	}
	ib, err := b.Info(name)
	if err != nil {
		return TensorDiff{}, false, err
	}
	td := TensorDiff{Name: name, DTypeA: dtypeName(ia), DTypeB: dtypeName(ib), ShapeA: ia.Shape, ShapeB: ib.Shape}
	if ia.DType == tensor.Invalid || ib.DType == tensor.Invalid {
		// Undecoded data (quantized blocks, F4/F6): identical bytes of the
		// same kind and shape are equal; anything else is only reported.
		td.Note = "data of this dtype is not compared"
		if td.DTypeA == td.DTypeB && slices.Equal(ia.Shape, ib.Shape) {
			same, ok, err := sameRaw(a, b, name)
			if err != nil {
				return td, false, err
			}
			if ok && same {
				return td, true, nil
			}
			if ok {
				td.Note = "bytes differ; data of this dtype is not decoded"
			}
		}
		return td, false, nil
	}
	if !slices.Equal(ia.Shape, ib.Shape) {
		td.Note = "shapes differ"
		return td, false, nil
	}
	ra, err := tensorReader(a, name, ia.DType)
	if err != nil {
		return td, false, fmt.Errorf("first checkpoint: %w", err)
	}
	rb, err := tensorReader(b, name, ib.DType)
	if err != nil {
		return td, false, fmt.Errorf("second checkpoint: %w", err)
	}
	da, oka := decoder(ia.DType)
	db, okb := decoder(ib.DType)
	comparable := oka && okb && ia.DType.IsComplex() == ib.DType.IsComplex()
	comps := int64(1)
	if ia.DType.IsComplex() {
		comps = 2
	}
	sa, sb := int64(ia.DType.Size())/comps, int64(ib.DType.Size())/comps
	n := ra.Size() / sa // elements (components, for complex dtypes)
	if ia.DType != ib.DType && !comparable {
		td.Note = "values of these dtypes are not compared"
		return td, false, nil
	}
	// Integers of one dtype are compared exactly (int64 does not fit float64).
	exact := ia.DType == ib.DType && !ia.DType.IsFloatingPoint() && !ia.DType.IsComplex()
	// Read both in chunks so memory stays flat whatever the tensor's size.
	const chunk = 1 << 18 // elements
	bufA, bufB := make([]byte, min(n, chunk)*sa), make([]byte, min(n, chunk)*sb)
	same := ia.DType == ib.DType
	for off := int64(0); off < n; off += chunk {
		m := min(chunk, n-off)
		ca, cb := bufA[:m*sa], bufB[:m*sb]
		if _, err := ra.ReadAt(ca, off*sa); err != nil {
			return td, false, fmt.Errorf("first checkpoint: tensor %q: %w", name, err)
		}
		if _, err := rb.ReadAt(cb, off*sb); err != nil {
			return td, false, fmt.Errorf("second checkpoint: tensor %q: %w", name, err)
		}
		if same && bytes.Equal(ca, cb) {
			continue
		}
		same = false
		if !comparable {
			td.Note = "values of these dtypes are not compared"
			return td, false, nil
		}
		td.Compared = true
		for i := int64(0); i < m; i++ {
			x, y := da(ca[i*sa:]), db(cb[i*sb:])
			if exact {
				if bytes.Equal(ca[i*sa:(i+1)*sa], cb[i*sb:(i+1)*sb]) {
					continue
				}
			} else if x == y || (math.IsNaN(x) && math.IsNaN(y)) {
				continue
			}
			td.Differing++
			d := math.Abs(x - y)
			if math.IsNaN(d) {
				d = math.Inf(1)
			}
			td.MaxAbs = math.Max(td.MaxAbs, d)
			rel := math.Inf(1)
			if y != 0 && !math.IsInf(y, 0) {
				rel = d / math.Abs(y)
			}
			td.MaxRel = math.Max(td.MaxRel, rel)
		}
	}
	if same {
		return td, true, nil
	}
	if !td.Compared { // same bytes in every chunk but dtypes differ
		td.Compared = true
	}
	return td, false, nil
}

// sameRaw compares the stored bytes of an undecoded tensor in a and b; ok
// is false when either checkpoint cannot give them.
func sameRaw(a, b Checkpoint, name string) (same, ok bool, err error) {
	ra, oka := a.(rawSectioner)
	rb, okb := b.(rawSectioner)
	if !oka || !okb {
		return false, false, nil
	}
	sa, oka := ra.rawSection(name)
	sb, okb := rb.rawSection(name)
	if !oka || !okb {
		return false, false, nil
	}
	if sa.Size() != sb.Size() {
		return false, true, nil
	}
	const chunk = 1 << 20
	bufA, bufB := make([]byte, min(sa.Size(), chunk)), make([]byte, min(sa.Size(), chunk))
	for off := int64(0); off < sa.Size(); off += chunk {
		m := min(chunk, sa.Size()-off)
		if _, err := sa.ReadAt(bufA[:m], off); err != nil {
			return false, true, fmt.Errorf("first checkpoint: tensor %q: %w", name, err)
		}
		if _, err := sb.ReadAt(bufB[:m], off); err != nil {
			return false, true, fmt.Errorf("second checkpoint: tensor %q: %w", name, err)
		}
		if !bytes.Equal(bufA[:m], bufB[:m]) {
			return false, true, nil
		}
	}
	return true, true, nil
}

// tensorReader returns the named tensor's contiguous little-endian bytes as
// a reader: a file section when the checkpoint offers one, else a view of
// its bytes.
func tensorReader(c Checkpoint, name string, dt tensor.DType) (*io.SectionReader, error) {
	if s, ok := sectionFor(c, name, dt); ok {
		return s, nil
	}
	t, err := c.Tensor(name)
	if err != nil {
		return nil, err
	}
	b, err := t.ContiguousBytes()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b))), nil
}

func dtypeName(in Info) string {
	if in.DType == tensor.Invalid {
		return in.Note
	}
	return in.DType.String()
}

// decoder returns a function reading one element (one component, for
// complex dtypes) of dt as float64 from little-endian bytes.
func decoder(dt tensor.DType) (func([]byte) float64, bool) {
	le := binary.LittleEndian
	switch dt {
	case tensor.Float32, tensor.Complex64:
		return func(b []byte) float64 { return float64(math.Float32frombits(le.Uint32(b))) }, true
	case tensor.Float64, tensor.Complex128:
		return func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }, true
	case tensor.Float16, tensor.Complex32:
		return func(b []byte) float64 { return float64(tensor.Float16ToFloat32(le.Uint16(b))) }, true
	case tensor.BFloat16:
		return func(b []byte) float64 { return float64(tensor.BFloat16ToFloat32(le.Uint16(b))) }, true
	case tensor.Float8E5M2:
		return func(b []byte) float64 { return float64(tensor.Float8E5M2ToFloat32(b[0])) }, true
	case tensor.Float8E4M3FN:
		return func(b []byte) float64 { return float64(tensor.Float8E4M3FNToFloat32(b[0])) }, true
	case tensor.Float8E5M2FNUZ:
		return func(b []byte) float64 { return float64(tensor.Float8E5M2FNUZToFloat32(b[0])) }, true
	case tensor.Float8E4M3FNUZ:
		return func(b []byte) float64 { return float64(tensor.Float8E4M3FNUZToFloat32(b[0])) }, true
	case tensor.Float8E8M0FNU:
		return func(b []byte) float64 { return float64(tensor.Float8E8M0ToFloat32(b[0])) }, true
	case tensor.Bool, tensor.Uint8:
		return func(b []byte) float64 { return float64(b[0]) }, true
	case tensor.Int8:
		return func(b []byte) float64 { return float64(int8(b[0])) }, true
	case tensor.Int16:
		return func(b []byte) float64 { return float64(int16(le.Uint16(b))) }, true
	case tensor.Uint16:
		return func(b []byte) float64 { return float64(le.Uint16(b)) }, true
	case tensor.Int32:
		return func(b []byte) float64 { return float64(int32(le.Uint32(b))) }, true
	case tensor.Uint32:
		return func(b []byte) float64 { return float64(le.Uint32(b)) }, true
	case tensor.Int64:
		return func(b []byte) float64 { return float64(int64(le.Uint64(b))) }, true
	case tensor.Uint64:
		return func(b []byte) float64 { return float64(le.Uint64(b)) }, true
	}
	return nil, false
}
