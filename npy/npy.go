package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/pthkit/pth/internal/atomicfile"
	"github.com/pthkit/pth/tensor"
)

// Magic is the first six bytes of every .npy file.
const Magic = "\x93NUMPY"

// MaxHeaderLen bounds the header a reader accepts (numpy's own default limit is 10000).
const MaxHeaderLen = 1 << 16

// Errors returned by the readers; they are wrapped with details (use errors.Is).
var (
	ErrFormat      = errors.New("npy: not a valid .npy file")
	ErrHeader      = errors.New("npy: malformed header")
	ErrObject      = errors.New("npy: object arrays are not supported (they hold pickles)")
	ErrUnsupported = errors.New("npy: unsupported dtype")
	ErrSize        = errors.New("npy: data size does not match shape and dtype")
)

// Header is a parsed .npy header.
type Header struct {
	Major, Minor int
	Descr        string  // numpy dtype descriptor, e.g. "<f4", ">i8", "|b1"
	Fortran      bool    // fortran_order
	Shape        []int64 // empty for a 0-d array
	DType        tensor.DType
	BigEndian    bool
	DataOffset   int64 // bytes before the data
}

// DataLen returns shape × itemsize, or an ErrSize error on overflow.
func (h *Header) DataLen() (int64, error) {
	n := uint64(h.DType.Size())
	for _, d := range h.Shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension in %v", ErrHeader, h.Shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("%w: shape %v overflows", ErrSize, h.Shape)
		}
		n = lo
	}
	return int64(n), nil
}

// ReadHeader reads and validates the magic, version and header dict.
func ReadHeader(r io.Reader) (*Header, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("%w: reading magic: %v", ErrFormat, err)
	}
	if string(pre[:6]) != Magic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrFormat, pre[:6])
	}
	h := &Header{Major: int(pre[6]), Minor: int(pre[7])}
	var hlen int64
	switch h.Major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: reading header length: %v", ErrFormat, err)
		}
		hlen = int64(binary.LittleEndian.Uint16(b[:]))
		h.DataOffset = 10 + hlen
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: reading header length: %v", ErrFormat, err)
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
		h.DataOffset = 12 + hlen
	default:
		return nil, fmt.Errorf("%w: version %d.%d", ErrFormat, h.Major, h.Minor)
	}
	if hlen > MaxHeaderLen {
		return nil, fmt.Errorf("%w: header length %d exceeds %d", ErrHeader, hlen, MaxHeaderLen)
	}
	buf := make([]byte, hlen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("%w: reading %d-byte header: %v", ErrFormat, hlen, err)
	}
	text := string(buf)
	if h.Major < 3 {
		for _, c := range buf {
			if c >= 0x80 {
				return nil, fmt.Errorf("%w: non-ASCII byte in a version %d header", ErrHeader, h.Major)
			}
		}
	}
	if err := h.parseDict(strings.TrimRight(text, " \n\x00")); err != nil {
		return nil, err
	}
	return h, nil
}

// parseDict parses numpy's header literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func (h *Header) parseDict(s string) error {
	p := &lit{s: s}
	if !p.eat('{') {
		return fmt.Errorf("%w: header does not start with '{': %q", ErrHeader, trunc(s))
	}
	seen := map[string]bool{}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return fmt.Errorf("%w: expected 'key': in %q", ErrHeader, trunc(s))
		}
		if seen[key] {
			return fmt.Errorf("%w: duplicate key %q", ErrHeader, key)
		}
		seen[key] = true
		p.space()
		switch key {
		case "descr":
			if p.peek() == '[' {
				return fmt.Errorf("%w: structured dtype %q", ErrUnsupported, trunc(s[p.i:]))
			}
			d, ok := p.str()
			if !ok {
				return fmt.Errorf("%w: descr is not a string", ErrHeader)
			}
			h.Descr = d
		case "fortran_order":
			switch {
			case p.word("True"):
				h.Fortran = true
			case p.word("False"):
				h.Fortran = false
			default:
				return fmt.Errorf("%w: fortran_order is not True or False", ErrHeader)
			}
		case "shape":
			shape, ok := p.tuple()
			if !ok {
				return fmt.Errorf("%w: shape is not a tuple of integers", ErrHeader)
			}
			h.Shape = shape
		default:
			return fmt.Errorf("%w: unknown key %q", ErrHeader, key)
		}
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if !p.eat('}') {
			return fmt.Errorf("%w: expected ',' or '}' in %q", ErrHeader, trunc(s))
		}
		break
	}
	p.space()
	if p.i != len(p.s) {
		return fmt.Errorf("%w: trailing text after the dict", ErrHeader)
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return fmt.Errorf("%w: missing key %q", ErrHeader, k)
		}
	}
	dt, be, err := parseDescr(h.Descr)
	if err != nil {
		return err
	}
	h.DType, h.BigEndian = dt, be
	_, err = h.DataLen()
	return err
}

func parseDescr(descr string) (tensor.DType, bool, error) {
	if descr == "" {
		return tensor.Invalid, false, fmt.Errorf("%w: empty descr", ErrHeader)
	}
	if strings.TrimLeft(descr, "<>|=") == "O" {
		return tensor.Invalid, false, fmt.Errorf("%w (descr %q)", ErrObject, descr)
	}
	d := descr
	if d[0] == '=' { // native order; numpy only ever writes it on little-endian hosts as '<'
		d = "<" + d[1:]
	}
	if dt, be, ok := tensor.ParseNumpyDescrOrder(d); ok {
		return dt, be, nil
	}
	if len(d) > 1 && (d[0] == '<' || d[0] == '>') { // one-byte types written with a byte order
		if dt, ok := tensor.ParseNumpyDescr("|" + d[1:]); ok && dt.Size() == 1 {
			return dt, false, nil
		}
	}
	if len(d) > 1 && d[0] == '|' {
		if dt, ok := tensor.ParseNumpyDescr("<" + d[1:]); ok && dt.Size() == 1 {
			return dt, false, nil
		}
	}
	return tensor.Invalid, false, fmt.Errorf("%w: descr %q", ErrUnsupported, descr)
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// lit is a tiny scanner for the Python literal subset numpy headers use.
type lit struct {
	s string
	i int
}

func (p *lit) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *lit) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *lit) eat(c byte) bool {
	p.space()
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *lit) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *lit) str() (string, bool) {
	p.space()
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", false
	}
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.ContainsRune(v, '\\') {
		return "", false
	}
	p.i += end + 2
	return v, true
}

func (p *lit) tuple() ([]int64, bool) {
	if !p.eat('(') {
		return nil, false
	}
	shape := []int64{}
	for {
		p.space()
		if p.eat(')') {
			return shape, true
		}
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i {
			return nil, false
		}
		n, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil {
			return nil, false
		}
		// numpy 1.x on Python 2 wrote longs as "3L".
		if j < len(p.s) && p.s[j] == 'L' {
			j++
		}
		p.i = j
		shape = append(shape, n)
		p.space()
		if p.eat(',') {
			continue
		}
		if p.eat(')') {
			return shape, true
		}
		return nil, false
	}
}

// Read reads one .npy array from r. The returned tensor owns its data; its
// strides are column-major for a Fortran-ordered file.
func Read(r io.Reader) (*tensor.Tensor, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	n, err := h.DataLen()
	if err != nil {
		return nil, err
	}
	data, err := readN(r, n)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %d data bytes for shape %v %s: %v", ErrSize, n, h.Shape, h.Descr, err)
	}
	return h.tensor(data), nil
}

// readN reads exactly n bytes, growing the buffer as data arrives so a header
// that lies about the shape cannot make it allocate more than the input holds.
func readN(r io.Reader, n int64) ([]byte, error) {
	const chunk = 16 << 20
	if n <= chunk {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	var buf bytes.Buffer
	got, err := io.CopyN(&buf, r, n)
	if err != nil {
		return nil, fmt.Errorf("got %d bytes: %w", got, err)
	}
	return buf.Bytes(), nil
}

func (h *Header) tensor(data []byte) *tensor.Tensor {
	shape := append([]int64{}, h.Shape...)
	var strides []int64
	if h.Fortran {
		strides = make([]int64, len(shape))
		acc := int64(1)
		for i := range shape {
			strides[i] = acc
			if shape[i] > 1 {
				acc *= shape[i]
			}
		}
	} else {
		strides = tensor.ContiguousStrides(shape)
	}
	return &tensor.Tensor{
		Storage: tensor.NewStorageOrder(h.DType, data, h.BigEndian),
		DType:   h.DType,
		Shape:   shape,
		Strides: strides,
	}
}

// ReadFile reads the .npy file at path; its size must be exactly header + data.
func ReadFile(path string) (*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	t, err := readSized(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ReadBytes reads a .npy array held in b, which must be exactly header + data.
func ReadBytes(b []byte) (*tensor.Tensor, error) {
	return readSized(bytes.NewReader(b), int64(len(b)))
}

// readSized reads an array whose total length is known and checks it.
func readSized(r io.Reader, size int64) (*tensor.Tensor, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	n, err := h.DataLen()
	if err != nil {
		return nil, err
	}
	if have := size - h.DataOffset; have != n {
		return nil, fmt.Errorf("%w: shape %v of %s needs %d bytes, the file has %d after the header", ErrSize, h.Shape, h.Descr, n, have)
	}
	// readN grows its buffer as bytes arrive: a size declared by a zip entry
	// (which a deflate bomb can inflate) is not allocated up front.
	data, err := readN(r, n)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSize, err)
	}
	return h.tensor(data), nil
}

// EncodeHeader returns the .npy preamble numpy.save writes for an array of
// dtype dt and shape (C order): magic, version, length and the dict, padded
// with spaces and a newline to a multiple of 64 bytes.
func EncodeHeader(dt tensor.DType, shape []int64) ([]byte, error) {
	descr := dt.NumpyDescr()
	if descr == "" {
		return nil, fmt.Errorf("%w: %s has no numpy equivalent", ErrUnsupported, dt)
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	tup := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tup = "(" + dims[0] + ",)"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, tup)
	for _, major := range []int{1, 2} {
		pre := 10
		if major == 2 {
			pre = 12
		}
		total := pre + len(dict) + 1
		pad := (64 - total%64) % 64
		hlen := len(dict) + pad + 1
		if major == 1 && hlen > math.MaxUint16 {
			continue
		}
		out := make([]byte, 0, pre+hlen)
		out = append(out, Magic...)
		out = append(out, byte(major), 0)
		if major == 1 {
			out = binary.LittleEndian.AppendUint16(out, uint16(hlen))
		} else {
			out = binary.LittleEndian.AppendUint32(out, uint32(hlen))
		}
		out = append(out, dict...)
		out = append(out, bytes.Repeat([]byte{' '}, pad)...)
		return append(out, '\n'), nil
	}
	return nil, fmt.Errorf("%w: header too long", ErrHeader)
}

// Write writes t to w as a C-ordered little-endian .npy file, as numpy.save does.
func Write(w io.Writer, t *tensor.Tensor) error {
	hdr, err := EncodeHeader(t.DType, t.Shape)
	if err != nil {
		return err
	}
	data, err := t.ContiguousBytes()
	if err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// WriteFile writes t to path atomically (a temporary file renamed into place).
func WriteFile(path string, t *tensor.Tensor) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, t) })
}
