package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/pthkit/pth/internal/filecopy"
)

// MaxWriteDims is the most dimensions the writer puts in a file: ggml's
// GGML_MAX_DIMS. Readers (ggml, gguf-parser-go) also refuse 0-dimensional
// tensors, so the writer requires 1 to MaxWriteDims.
const MaxWriteDims = 4

// TensorSpec declares a tensor to write. Shape is in PyTorch order; the
// writer stores it reversed (ne order).
type TensorSpec struct {
	Name  string
	Type  Type
	Shape []int64
}

// Writer writes a GGUF v3 file in one pass: header, metadata and tensor infos
// first, then each tensor's bytes in the order given, padded to the alignment,
// as gguf-py's GGUFWriter lays them out.
type Writer struct {
	dst       io.Writer // what bw writes to; file sections are copied to it directly
	bw        *bufio.Writer
	specs     []TensorSpec
	sizes     []int64
	alignment int64
	next      int
	err       error
}

// NewWriter writes the header for kvs and specs to w. The alignment is the
// uint32 value of a general.alignment key in kvs, or DefaultAlignment.
func NewWriter(w io.Writer, kvs []KV, specs []TensorSpec) (*Writer, error) {
	gw := &Writer{dst: w, bw: bufio.NewWriterSize(w, 1<<20), specs: specs, alignment: DefaultAlignment}
	var hdr []byte
	hdr = append(hdr, Magic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, 3)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(specs)))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(kvs)))
	seen := map[string]bool{}
	for _, kv := range kvs {
		if seen[kv.Key] || !utf8.ValidString(kv.Key) {
			return nil, fmt.Errorf("%w: key %q repeated or not UTF-8", ErrWrite, kv.Key)
		}
		seen[kv.Key] = true
		if kv.Key == "general.alignment" {
			a, ok := kv.Value.(uint32)
			if !ok || kv.Type != TypeUint32 || a == 0 || a&(a-1) != 0 || a%8 != 0 {
				return nil, fmt.Errorf("%w: %v", ErrAlignment, kv.Value)
			}
			gw.alignment = int64(a)
		}
		hdr = appendString(hdr, kv.Key)
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(kv.Type))
		var err error
		if hdr, err = appendValue(hdr, kv.Type, kv.Value, 0); err != nil {
			return nil, fmt.Errorf("key %q: %w", kv.Key, err)
		}
	}
	var off int64
	gw.sizes = make([]int64, len(specs))
	names := map[string]bool{}
	for i, s := range specs {
		if names[s.Name] || !utf8.ValidString(s.Name) {
			return nil, fmt.Errorf("%w: tensor name %q repeated or not UTF-8", ErrWrite, s.Name)
		}
		names[s.Name] = true
		if !s.Type.Known() {
			return nil, fmt.Errorf("tensor %q: %w: %d", s.Name, ErrUnknownType, uint32(s.Type))
		}
		if len(s.Shape) < 1 || len(s.Shape) > MaxWriteDims {
			return nil, fmt.Errorf("tensor %q: %w: %d dimensions (GGUF readers take 1 to %d)", s.Name, ErrShape, len(s.Shape), MaxWriteDims)
		}
		dims := make([]uint64, len(s.Shape))
		for j, d := range s.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: %w: %v", s.Name, ErrShape, s.Shape)
			}
			dims[len(s.Shape)-1-j] = uint64(d)
		}
		n, err := nbytes(s.Type, dims)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", s.Name, err)
		}
		gw.sizes[i] = n
		hdr = appendString(hdr, s.Name)
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(dims)))
		for _, d := range dims {
			hdr = binary.LittleEndian.AppendUint64(hdr, d)
		}
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(s.Type))
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(off))
		off = alignUp(off+n, gw.alignment)
	}
	for int64(len(hdr))%gw.alignment != 0 {
		hdr = append(hdr, 0)
	}
	if _, err := gw.bw.Write(hdr); err != nil {
		return nil, err
	}
	return gw, nil
}

// Write writes the data of the next tensor, which must be name.
func (w *Writer) Write(name string, data []byte) error {
	if err := w.expect(name); err != nil {
		return err
	}
	if int64(len(data)) != w.sizes[w.next] {
		return fmt.Errorf("%w: tensor %q has %d bytes, its shape and type need %d", ErrWrite, name, len(data), w.sizes[w.next])
	}
	if _, err := w.bw.Write(data); err != nil {
		w.err = err
		return err
	}
	return w.pad()
}

// WriteFrom copies the data of the next tensor, which must be name, from r. When r
// is an unread *io.SectionReader of a file and the Writer writes to a file, the bytes
// are copied inside the kernel (internal/filecopy) instead of through the buffer.
func (w *Writer) WriteFrom(name string, r io.Reader) error {
	if err := w.expect(name); err != nil {
		return err
	}
	n, err := filecopy.CopyN(w.dst, w.bw, r, w.sizes[w.next])
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("%w: tensor %q: got %d of %d bytes", ErrWrite, name, n, w.sizes[w.next])
		}
		w.err = err
		return err
	}
	return w.pad()
}

func (w *Writer) expect(name string) error {
	if w.err != nil {
		return w.err
	}
	if w.next >= len(w.specs) || w.specs[w.next].Name != name {
		return fmt.Errorf("%w: tensor %q out of order", ErrWrite, name)
	}
	return nil
}

// pad writes the padding after the current tensor and moves to the next.
func (w *Writer) pad() error {
	n := w.sizes[w.next]
	if pad := alignUp(n, w.alignment) - n; pad > 0 {
		if _, err := w.bw.Write(make([]byte, pad)); err != nil {
			w.err = err
			return err
		}
	}
	w.next++
	return nil
}

// Close flushes the buffer and checks every tensor was written. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if w.next != len(w.specs) {
		return fmt.Errorf("%w: %d of %d tensors written", ErrWrite, w.next, len(w.specs))
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue encodes v, whose Go type must match t (see KV).
func appendValue(b []byte, t ValueType, v any, depth int) ([]byte, error) {
	le := binary.LittleEndian
	bad := func() ([]byte, error) { return nil, fmt.Errorf("%w: %T is not a %s", ErrWrite, v, t) }
	switch t {
	case TypeUint8:
		x, ok := v.(uint8)
		if !ok {
			return bad()
		}
		return append(b, x), nil
	case TypeInt8:
		x, ok := v.(int8)
		if !ok {
			return bad()
		}
		return append(b, byte(x)), nil
	case TypeBool:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		if x {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case TypeUint16:
		x, ok := v.(uint16)
		if !ok {
			return bad()
		}
		return le.AppendUint16(b, x), nil
	case TypeInt16:
		x, ok := v.(int16)
		if !ok {
			return bad()
		}
		return le.AppendUint16(b, uint16(x)), nil
	case TypeUint32:
		x, ok := v.(uint32)
		if !ok {
			return bad()
		}
		return le.AppendUint32(b, x), nil
	case TypeInt32:
		x, ok := v.(int32)
		if !ok {
			return bad()
		}
		return le.AppendUint32(b, uint32(x)), nil
	case TypeFloat32:
		x, ok := v.(float32)
		if !ok {
			return bad()
		}
		return le.AppendUint32(b, math.Float32bits(x)), nil
	case TypeUint64:
		x, ok := v.(uint64)
		if !ok {
			return bad()
		}
		return le.AppendUint64(b, x), nil
	case TypeInt64:
		x, ok := v.(int64)
		if !ok {
			return bad()
		}
		return le.AppendUint64(b, uint64(x)), nil
	case TypeFloat64:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		return le.AppendUint64(b, math.Float64bits(x)), nil
	case TypeString:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		return appendString(b, x), nil
	case TypeArray:
		a, ok := v.(Array)
		if !ok {
			return bad()
		}
		if depth >= MaxArrayDepth {
			return nil, fmt.Errorf("%w: arrays nested deeper than %d", ErrWrite, MaxArrayDepth)
		}
		b = le.AppendUint32(b, uint32(a.Type))
		b = le.AppendUint64(b, uint64(a.Len()))
		var err error
		switch xs := a.Values.(type) {
		case []uint8:
			if a.Type != TypeUint8 {
				return nil, fmt.Errorf("%w: []uint8 values in a %s array", ErrWrite, a.Type)
			}
			b = append(b, xs...)
		case []Array:
			if a.Type != TypeArray {
				return nil, fmt.Errorf("%w: []Array values in a %s array", ErrWrite, a.Type)
			}
			for _, x := range xs {
				if b, err = appendValue(b, TypeArray, x, depth+1); err != nil {
					return nil, err
				}
			}
		default:
			err = eachElem(a.Values, func(x any) error {
				var e error
				b, e = appendValue(b, a.Type, x, depth+1)
				return e
			})
		}
		return b, err
	}
	return nil, fmt.Errorf("%w: %d", ErrValueType, uint32(t))
}

// eachElem calls fn for each element of a typed slice.
func eachElem(s any, fn func(any) error) error {
	switch xs := s.(type) {
	case []int8:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []uint16:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []int16:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []uint32:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []int32:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []float32:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []bool:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []string:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []uint64:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []int64:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	case []float64:
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w: array values of type %T", ErrWrite, s)
	}
	return nil
}
