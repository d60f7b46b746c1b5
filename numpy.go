package pth

import (
	"github.com/pthkit/pth/pickle"
)

// numpy values pickle as calls into numpy's C module followed by BUILD:
//
//	ndarray: _reconstruct(numpy.ndarray, (0,), b'b') + BUILD (1, shape, dtype, is_fortran, rawdata)
//	scalar:  scalar(dtype, rawbytes)
//	dtype:   numpy.dtype('f8', False, True) + BUILD (3, '<', names, fields, ..., itemsize, align, flags)
//
// The interpreted values keep the decoded object (Raw) so they are written back
// byte for byte as numpy wrote them.

// numpyDTypeString returns numpy's type string ("<f8", "|b1", "<U5", "|O") of a
// decoded numpy.dtype object.
func numpyDTypeString(v Value) (string, bool) {
	switch x := v.(type) {
	case *NumpyDType:
		return x.DType, true
	case *pickle.Object:
		g, ok := x.Callable.(pickle.Global)
		if !ok || g.Name != "dtype" || len(x.Args) < 1 {
			return "", false
		}
		code, ok := x.Args[0].(string)
		if !ok {
			return "", false
		}
		order := "|"
		if st, ok := x.State.(pickle.Tuple); ok && len(st) > 1 {
			if o, ok := st[1].(string); ok {
				order = o
			}
		}
		if order == "=" {
			order = "<" // the pickling machine's order; numpy writes '<' on little-endian hosts
		}
		if code == "O8" || code == "O4" {
			code = "O"
		}
		return order + code, true
	}
	return "", false
}

func rebuildNumpyDType(in *interpreter, o *pickle.Object) (Value, error) {
	s, ok := numpyDTypeString(o)
	if !ok {
		return nil, errorf(ErrInvalid, "numpy.dtype arguments %s", shortRepr(o.Args))
	}
	return &NumpyDType{DType: s, Raw: o}, nil
}

func rebuildNumpyScalar(in *interpreter, o *pickle.Object) (Value, error) {
	if err := argN(o, 1, 2); err != nil {
		return nil, err
	}
	dt, ok := numpyDTypeString(o.Args[0])
	if !ok {
		return nil, errorf(ErrInvalid, "numpy scalar dtype is %T", o.Args[0])
	}
	s := &NumpyScalar{DType: dt, Raw: o}
	if len(o.Args) == 2 {
		v, err := in.value(o.Args[1])
		if err != nil {
			return nil, err
		}
		switch b := v.(type) {
		case []byte:
			s.Data = b
		default:
			// Object scalars hold a Python value instead of bytes; keep Raw only.
		}
	}
	return s, nil
}

func rebuildNDArray(in *interpreter, o *pickle.Object) (Value, error) {
	a := &NDArray{Raw: o}
	if !o.Built {
		return nil, errorf(ErrInvalid, "numpy array without BUILD state")
	}
	st, ok := o.State.(pickle.Tuple)
	if !ok || len(st) != 5 {
		return nil, errorf(ErrInvalid, "numpy array state is %T of length %d", o.State, len(st))
	}
	shape, err := in.asInts(st[1], "array shape")
	if err != nil {
		return nil, err
	}
	a.Shape = shape
	if a.DType, ok = numpyDTypeString(st[2]); !ok {
		return nil, errorf(ErrInvalid, "numpy array dtype is %T", st[2])
	}
	if a.Fortran, err = asBool(st[3], "is_fortran"); err != nil {
		return nil, err
	}
	data, err := in.value(st[4])
	if err != nil {
		return nil, err
	}
	switch d := data.(type) {
	case []byte:
		a.Data = d
	case string: // protocol 0/1 STRING data decoded as latin-1 text
		b := make([]byte, 0, len(d))
		for _, r := range d {
			b = append(b, byte(r))
		}
		a.Data = b
	case *pickle.List:
		a.Objects = d.Items
	default:
		return nil, errorf(ErrInvalid, "numpy array data is %T", data)
	}
	return a, nil
}
