package pth

import (
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

var errEOF = io.EOF

// pyRepr renders a value as Python's repr() would, for comparison with the
// reprs PyTorch's generator recorded.
func pyRepr(v Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case *big.Int:
		return x.String()
	case float64:
		return pyFloat(x)
	case string:
		return pyStr(x)
	case []byte:
		return pyBytes(x)
	case pickle.ByteArray:
		return "bytearray(" + pyBytes(x) + ")"
	case complex128:
		re, im := real(x), imag(x)
		ims := strings.TrimSuffix(pyFloat(im), ".0")
		if re == 0 && !math.Signbit(re) {
			return ims + "j"
		}
		res := pyFloat(re)
		res = strings.TrimSuffix(res, ".0")
		sign := "+"
		if im < 0 || math.Signbit(im) {
			sign = ""
		}
		return "(" + res + sign + ims + "j)"
	case *pickle.Set:
		items := make([]string, len(x.Items))
		for i, e := range x.Items {
			items[i] = pyRepr(e)
		}
		if x.Frozen {
			return "frozenset({" + strings.Join(items, ", ") + "})"
		}
		return "{" + strings.Join(items, ", ") + "}"
	case Size:
		items := make([]string, len(x))
		for i, e := range x {
			items[i] = strconv.FormatInt(e, 10)
		}
		return "torch.Size([" + strings.Join(items, ", ") + "])"
	case Device:
		if x.Index >= 0 {
			return fmt.Sprintf("device(type=%s, index=%d)", pyStr(x.Type), x.Index)
		}
		return fmt.Sprintf("device(type=%s)", pyStr(x.Type))
	case DType:
		return "torch." + string(x)
	case *NumpyScalar:
		dt, ok := tensor.ParseNumpyDescr(x.DType)
		if ok && dt == tensor.Float64 && len(x.Data) == 8 {
			t, err := tensor.FromBytes(dt, nil, x.Data)
			if err == nil {
				f, err := t.Float64s()
				if err == nil {
					return pyFloat(f[0])
				}
			}
		}
	case *pickle.Object:
		g, ok := x.Callable.(pickle.Global)
		if ok && g.String() == "argparse.Namespace" {
			if d, ok := x.State.(*pickle.Dict); ok {
				var parts []string
				for _, e := range d.Entries {
					parts = append(parts, fmt.Sprintf("%v=%s", e.Key, pyRepr(e.Value)))
				}
				return "Namespace(" + strings.Join(parts, ", ") + ")"
			}
		}
	}
	return fmt.Sprintf("<%T>", v)
}

// checkNumpy compares a numpy value's dtype and shape with the record.
func checkNumpy(t *testing.T, want manifestValue, v Value) {
	t.Helper()
	if !strings.HasPrefix(want.Type, "numpy.") {
		return
	}
	name := func(descr string) string {
		if dt, ok := tensor.ParseNumpyDescr(descr); ok {
			return dt.String()
		}
		return descr
	}
	switch x := v.(type) {
	case *NDArray:
		if want.Type != "numpy.ndarray" || name(x.DType) != want.DType || !equalInts(x.Shape, want.Shape) {
			t.Errorf("value %s: ndarray %s %v, PyTorch %s %s %v", want.Path, x.DType, x.Shape, want.Type, want.DType, want.Shape)
		}
		n := int64(1)
		for _, d := range x.Shape {
			n *= d
		}
		if dt, ok := tensor.ParseNumpyDescr(x.DType); ok && int64(len(x.Data)) != n*int64(dt.Size()) {
			t.Errorf("value %s: %d data bytes for %d elements of %s", want.Path, len(x.Data), n, x.DType)
		}
	case *NumpyScalar:
		if want.Type == "numpy.ndarray" || name(x.DType) != want.DType || len(want.Shape) != 0 {
			t.Errorf("value %s: numpy scalar %s, PyTorch %s %s", want.Path, x.DType, want.Type, want.DType)
		}
	default:
		t.Errorf("value %s: %T, PyTorch %s", want.Path, v, want.Type)
	}
}

// The leaves are rendered by pickle.Sprint, whose output the pickle package checks
// against CPython's repr() on its golden files.
func pyFloat(f float64) string { return pickle.Sprint(f) }
func pyStr(s string) string    { return pickle.Sprint(s) }
func pyBytes(b []byte) string  { return pickle.Sprint(b) }
