package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"

	"github.com/pthkit/pth/tensor"
)

// Magic is the first four bytes of a GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the alignment used when general.alignment is absent.
const DefaultAlignment = 32

// MaxArrayDepth bounds the nesting of metadata arrays.
const MaxArrayDepth = 16

// MaxDims bounds the number of dimensions of a tensor the reader accepts.
// ggml itself allows 4 (and the writer writes at most MaxWriteDims); the
// reader is lenient up to 8, and accepts 0 (a scalar).
const MaxDims = 8

// KV is one metadata key/value pair.
//
// Value holds uint8, int8, uint16, int16, uint32, int32, float32, bool,
// string, uint64, int64, float64 or Array, according to Type.
type KV struct {
	Key   string
	Type  ValueType
	Value any
}

// Array is a metadata array. Values is a slice of the element type:
// []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool,
// []string, []uint64, []int64, []float64, or []Array for nested arrays.
type Array struct {
	Type   ValueType
	Values any
}

// Len returns the number of elements.
func (a Array) Len() int {
	switch v := a.Values.(type) {
	case []uint8:
		return len(v)
	case []int8:
		return len(v)
	case []uint16:
		return len(v)
	case []int16:
		return len(v)
	case []uint32:
		return len(v)
	case []int32:
		return len(v)
	case []float32:
		return len(v)
	case []bool:
		return len(v)
	case []string:
		return len(v)
	case []uint64:
		return len(v)
	case []int64:
		return len(v)
	case []float64:
		return len(v)
	case []Array:
		return len(v)
	}
	return 0
}

// TensorInfo describes one tensor.
type TensorInfo struct {
	Name string
	// Dims are in ggml ne order: Dims[0] is the innermost dimension.
	Dims []uint64
	Type Type
	// Offset is relative to the start of the data section.
	Offset uint64
	// NBytes is the size of the data, from the dims and the type's block table.
	NBytes int64
}

// Shape returns the dimensions in PyTorch order (Dims reversed).
func (t TensorInfo) Shape() []int64 {
	s := make([]int64, len(t.Dims))
	for i, d := range t.Dims {
		s[len(t.Dims)-1-i] = int64(d)
	}
	return s
}

// File is a parsed GGUF file.
type File struct {
	Version   uint32
	KV        []KV
	Tensors   []TensorInfo
	Alignment int64
	// DataOffset is where the tensor data section starts in the file.
	DataOffset int64

	r      io.ReaderAt
	size   int64
	closer io.Closer
	kv     map[string]int
	ti     map[string]int
}

// Open opens and parses the GGUF file at path. Tensor data is read on demand.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := NewReader(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.closer = fh
	return f, nil
}

// Close closes the file opened by Open.
func (f *File) Close() error {
	if f.closer != nil {
		c := f.closer
		f.closer = nil
		return c.Close()
	}
	return nil
}

// cursor reads the header sequentially, never past size.
type cursor struct {
	br   *bufio.Reader
	off  int64
	size int64
	buf  [8]byte
	// budget is what metadata may still allocate (MaxMetadataBytes at first).
	budget int64
}

// MaxMetadataBytes bounds the memory the decoded metadata may take (real
// files hold a few megabytes, mostly tokenizer vocabularies); beyond it
// NewReader fails with ErrLimit.
const MaxMetadataBytes = 1 << 30

// spend charges n bytes of decoded metadata against the budget.
func (c *cursor) spend(n int64) error {
	if n > c.budget {
		return c.fail(fmt.Errorf("%w: metadata beyond %d bytes", ErrLimit, int64(MaxMetadataBytes)))
	}
	c.budget -= n
	return nil
}

func (c *cursor) fail(err error) error { return fmt.Errorf("offset %d: %w", c.off, err) }

func (c *cursor) read(n int) ([]byte, error) {
	if int64(n) > c.size-c.off {
		return nil, c.fail(ErrTruncated)
	}
	b := c.buf[:n]
	if _, err := io.ReadFull(c.br, b); err != nil {
		return nil, c.fail(fmt.Errorf("%w: %v", ErrTruncated, err))
	}
	c.off += int64(n)
	return b, nil
}

func (c *cursor) u32() (uint32, error) {
	b, err := c.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (c *cursor) u64() (uint64, error) {
	b, err := c.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a u64 count of items each at least min bytes long, refusing
// counts the rest of the file cannot hold.
func (c *cursor) count(least int64) (int64, error) {
	n, err := c.u64()
	if err != nil {
		return 0, err
	}
	if least < 1 {
		least = 1
	}
	if n > uint64(c.size-c.off)/uint64(least) {
		return 0, c.fail(fmt.Errorf("%w: count %d with %d bytes left", ErrLimit, n, c.size-c.off))
	}
	return int64(n), nil
}

func (c *cursor) str() (string, error) {
	n, err := c.count(1)
	if err != nil {
		return "", err
	}
	if err := c.spend(n + 16); err != nil {
		return "", err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.br, b); err != nil {
		return "", c.fail(fmt.Errorf("%w: %v", ErrTruncated, err))
	}
	c.off += n
	return string(b), nil
}

func (c *cursor) value(t ValueType, depth int) (any, error) {
	switch t {
	case TypeString:
		return c.str()
	case TypeArray:
		if depth >= MaxArrayDepth {
			return nil, c.fail(fmt.Errorf("%w: arrays nested deeper than %d", ErrLimit, MaxArrayDepth))
		}
		et, err := c.u32()
		if err != nil {
			return nil, err
		}
		return c.array(ValueType(et), depth+1)
	}
	n := t.size()
	if n == 0 {
		return nil, c.fail(fmt.Errorf("%w: %d", ErrValueType, uint32(t)))
	}
	b, err := c.read(int(n))
	if err != nil {
		return nil, err
	}
	return decodeScalar(t, b), nil
}

func decodeScalar(t ValueType, b []byte) any {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return b[0]
	case TypeInt8:
		return int8(b[0])
	case TypeBool:
		return b[0] != 0
	case TypeUint16:
		return le.Uint16(b)
	case TypeInt16:
		return int16(le.Uint16(b))
	case TypeUint32:
		return le.Uint32(b)
	case TypeInt32:
		return int32(le.Uint32(b))
	case TypeFloat32:
		return math.Float32frombits(le.Uint32(b))
	case TypeUint64:
		return le.Uint64(b)
	case TypeInt64:
		return int64(le.Uint64(b))
	case TypeFloat64:
		return math.Float64frombits(le.Uint64(b))
	}
	return nil
}

func (c *cursor) array(et ValueType, depth int) (Array, error) {
	least := et.size() // bytes per element at least
	switch et {
	case TypeString:
		least = 8
	case TypeArray:
		least = 12
	default:
		if least == 0 {
			return Array{}, c.fail(fmt.Errorf("%w: array of %d", ErrValueType, uint32(et)))
		}
	}
	n, err := c.count(least)
	if err != nil {
		return Array{}, err
	}
	a := Array{Type: et}
	// Slices of strings and arrays grow as elements are actually read, so a
	// count the data does not back allocates nothing up front.
	const prealloc = 1 << 12
	switch et {
	case TypeString:
		v := make([]string, 0, min(n, prealloc))
		for range n {
			x, err := c.str()
			if err != nil {
				return a, err
			}
			v = append(v, x)
		}
		a.Values = v
	case TypeArray:
		v := make([]Array, 0, min(n, prealloc))
		for range n {
			if err := c.spend(32); err != nil {
				return a, err
			}
			x, err := c.value(TypeArray, depth)
			if err != nil {
				return a, err
			}
			v = append(v, x.(Array))
		}
		a.Values = v
	default:
		a.Values, err = c.scalars(et, n)
	}
	return a, err
}

// scalars reads n fixed-size values into a typed slice.
func (c *cursor) scalars(et ValueType, n int64) (any, error) {
	size := et.size()
	if err := c.spend(2 * n * size); err != nil { // the raw bytes and the typed slice
		return nil, err
	}
	raw := make([]byte, n*size) // n*size ≤ bytes left, checked by count
	if _, err := io.ReadFull(c.br, raw); err != nil {
		return nil, c.fail(fmt.Errorf("%w: %v", ErrTruncated, err))
	}
	c.off += n * size
	le := binary.LittleEndian
	switch et {
	case TypeUint8:
		return raw, nil
	case TypeInt8:
		v := make([]int8, n)
		for i := range v {
			v[i] = int8(raw[i])
		}
		return v, nil
	case TypeBool:
		v := make([]bool, n)
		for i := range v {
			v[i] = raw[i] != 0
		}
		return v, nil
	case TypeUint16:
		v := make([]uint16, n)
		for i := range v {
			v[i] = le.Uint16(raw[2*i:])
		}
		return v, nil
	case TypeInt16:
		v := make([]int16, n)
		for i := range v {
			v[i] = int16(le.Uint16(raw[2*i:]))
		}
		return v, nil
	case TypeUint32:
		v := make([]uint32, n)
		for i := range v {
			v[i] = le.Uint32(raw[4*i:])
		}
		return v, nil
	case TypeInt32:
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(le.Uint32(raw[4*i:]))
		}
		return v, nil
	case TypeFloat32:
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return v, nil
	case TypeUint64:
		v := make([]uint64, n)
		for i := range v {
			v[i] = le.Uint64(raw[8*i:])
		}
		return v, nil
	case TypeInt64:
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(le.Uint64(raw[8*i:]))
		}
		return v, nil
	case TypeFloat64:
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return v, nil
	}
	return nil, c.fail(ErrValueType)
}

// NewReader parses the header of a GGUF file of the given size read through r.
// Tensor data is read on demand.
func NewReader(r io.ReaderAt, size int64) (*File, error) {
	c := &cursor{br: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10), size: size, budget: MaxMetadataBytes}
	magic, err := c.read(4)
	if err != nil {
		return nil, ErrFormat
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("%w: magic %q", ErrFormat, magic)
	}
	f := &File{r: r, size: size, kv: map[string]int{}, ti: map[string]int{}, Alignment: DefaultAlignment}
	if f.Version, err = c.u32(); err != nil {
		return nil, err
	}
	if f.Version != 3 && f.Version != 2 {
		if bits.ReverseBytes32(f.Version) <= 3 {
			return nil, fmt.Errorf("%w: a big-endian GGUF file (version %d byte-swapped); pth reads little-endian files only", ErrVersion, bits.ReverseBytes32(f.Version))
		}
		return nil, fmt.Errorf("%w: %d (pth reads 2 and 3)", ErrVersion, f.Version)
	}
	// Minimum encoded sizes: a tensor info is ≥ 8+4+4+8 bytes, a KV ≥ 8+4+1.
	ntensors, err := c.count(24)
	if err != nil {
		return nil, err
	}
	nkv, err := c.count(13)
	if err != nil {
		return nil, err
	}
	f.KV = make([]KV, 0, nkv)
	for i := int64(0); i < nkv; i++ {
		at := c.off
		key, err := c.str()
		if err != nil {
			return nil, err
		}
		t, err := c.u32()
		if err != nil {
			return nil, err
		}
		v, err := c.value(ValueType(t), 0)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		if _, dup := f.kv[key]; dup {
			return nil, fmt.Errorf("offset %d: %w: %q", at, ErrDuplicateKey, key)
		}
		f.kv[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Type: ValueType(t), Value: v})
	}
	if i, ok := f.kv["general.alignment"]; ok {
		a, ok := f.KV[i].Value.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("%w: %v (%s)", ErrAlignment, f.KV[i].Value, f.KV[i].Type)
		}
		f.Alignment = int64(a)
	}
	f.Tensors = make([]TensorInfo, 0, ntensors)
	for i := int64(0); i < ntensors; i++ {
		at := c.off
		ti, err := c.tensorInfo()
		if err != nil {
			return nil, err
		}
		if _, dup := f.ti[ti.Name]; dup {
			return nil, fmt.Errorf("offset %d: %w: tensor %q", at, ErrDuplicateKey, ti.Name)
		}
		if ti.Offset%uint64(f.Alignment) != 0 {
			return nil, fmt.Errorf("tensor %q: %w: %d is not a multiple of the alignment %d", ti.Name, ErrOffset, ti.Offset, f.Alignment)
		}
		f.ti[ti.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}
	f.DataOffset = alignUp(c.off, f.Alignment)
	if ntensors > 0 && f.DataOffset > size {
		return nil, fmt.Errorf("%w: data section would start at %d, past the end %d", ErrTruncated, f.DataOffset, size)
	}
	if err := f.checkExtents(); err != nil {
		return nil, err
	}
	return f, nil
}

func (c *cursor) tensorInfo() (TensorInfo, error) {
	var ti TensorInfo
	var err error
	if ti.Name, err = c.str(); err != nil {
		return ti, err
	}
	nd, err := c.u32()
	if err != nil {
		return ti, err
	}
	if nd > MaxDims {
		return ti, c.fail(fmt.Errorf("tensor %q: %w: %d dimensions (at most %d)", ti.Name, ErrShape, nd, MaxDims))
	}
	ti.Dims = make([]uint64, nd)
	for j := range ti.Dims {
		if ti.Dims[j], err = c.u64(); err != nil {
			return ti, err
		}
	}
	t, err := c.u32()
	if err != nil {
		return ti, err
	}
	ti.Type = Type(t)
	if !ti.Type.Known() {
		return ti, c.fail(fmt.Errorf("tensor %q: %w: %d", ti.Name, ErrUnknownType, t))
	}
	if ti.Offset, err = c.u64(); err != nil {
		return ti, err
	}
	if ti.NBytes, err = nbytes(ti.Type, ti.Dims); err != nil {
		return ti, c.fail(fmt.Errorf("tensor %q: %w", ti.Name, err))
	}
	return ti, nil
}

// nbytes returns the data size of a tensor with ne dims of type t.
func nbytes(t Type, dims []uint64) (int64, error) {
	info := typeTable[t]
	n := uint64(1)
	for _, d := range dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("%w: %v overflows", ErrShape, dims)
		}
		n = lo
	}
	if len(dims) > 0 && dims[0]%uint64(info.blockSize) != 0 {
		return 0, fmt.Errorf("%w: ne[0]=%d is not a multiple of %s's block size %d", ErrShape, dims[0], info.name, info.blockSize)
	}
	blocks := n / uint64(info.blockSize)
	hi, lo := bits.Mul64(blocks, uint64(info.typeSize))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %v overflows", ErrShape, dims)
	}
	return int64(lo), nil
}

// checkExtents checks that every tensor lies inside the file and that no two overlap.
func (f *File) checkExtents() error {
	dataSize := f.size - f.DataOffset
	idx := make([]int, len(f.Tensors))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return f.Tensors[idx[a]].Offset < f.Tensors[idx[b]].Offset })
	var end uint64
	for k, i := range idx {
		t := f.Tensors[i]
		if t.Offset > uint64(dataSize) || uint64(t.NBytes) > uint64(dataSize)-t.Offset {
			return fmt.Errorf("tensor %q: %w: [%d, +%d) beyond the %d data bytes", t.Name, ErrOffset, t.Offset, t.NBytes, dataSize)
		}
		if k > 0 && t.Offset < end {
			return fmt.Errorf("tensor %q: %w: overlaps the previous tensor", t.Name, ErrOffset)
		}
		end = t.Offset + uint64(t.NBytes)
	}
	return nil
}

func alignUp(o, a int64) int64 { return o + (a-o%a)%a }

// Get returns the value of a metadata key.
func (f *File) Get(key string) (any, bool) {
	i, ok := f.kv[key]
	if !ok {
		return nil, false
	}
	return f.KV[i].Value, true
}

// Architecture returns general.architecture, or "" when absent.
func (f *File) Architecture() string {
	v, _ := f.Get("general.architecture")
	s, _ := v.(string)
	return s
}

// Lookup returns the info of the named tensor.
func (f *File) Lookup(name string) (TensorInfo, bool) {
	i, ok := f.ti[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// Names returns the tensor names in file order.
func (f *File) Names() []string {
	out := make([]string, len(f.Tensors))
	for i, t := range f.Tensors {
		out[i] = t.Name
	}
	return out
}

// Data reads the raw bytes of the named tensor (quantized or not).
func (f *File) Data(name string) ([]byte, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	buf := make([]byte, t.NBytes)
	if _, err := f.r.ReadAt(buf, f.DataOffset+int64(t.Offset)); err != nil && !(err == io.EOF && t.NBytes == 0) {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return buf, nil
}

// Tensor returns the named tensor over a lazy storage read on first use.
// Quantized tensors fail with ErrQuantized.
func (f *File) Tensor(name string) (*tensor.Tensor, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	dt := t.Type.DType()
	if dt == tensor.Invalid {
		return nil, fmt.Errorf("tensor %q: %w (%s)", name, ErrQuantized, t.Type)
	}
	st := tensor.NewLazyStorage(dt, f.r, f.DataOffset+int64(t.Offset), t.NBytes, false)
	st.Key = name
	shape := t.Shape()
	return &tensor.Tensor{Storage: st, DType: dt, Shape: shape, Strides: tensor.ContiguousStrides(shape)}, nil
}

// Section returns a reader over the raw bytes of the named tensor in the file
// (quantized or not), for copying without holding them in memory.
func (f *File) Section(name string) (*io.SectionReader, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return io.NewSectionReader(f.r, f.DataOffset+int64(t.Offset), t.NBytes), nil
}
