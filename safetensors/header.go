package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/pthkit/pth/tensor"
)

// MaxHeaderSize is the largest JSON header accepted, as in the reference
// implementation (100,000,000 bytes).
const MaxHeaderSize = 100_000_000

// TensorInfo is one tensor's entry in the header.
type TensorInfo struct {
	Name  string
	DType tensor.DType // tensor.Invalid for F4, F6_E2M3 and F6_E3M2
	Code  string       // the dtype code as written ("F32", …)
	Shape []int64      // C order; empty for a 0-d tensor
	// Begin and End are byte offsets relative to the start of the data buffer.
	Begin, End int64
}

// NBytes returns End-Begin.
func (t TensorInfo) NBytes() int64 { return t.End - t.Begin }

// Header is a parsed and validated header.
type Header struct {
	// Metadata is the __metadata__ map (nil when absent).
	Metadata map[string]string
	// Tensors are in data-offset order.
	Tensors []TensorInfo
	// DataOffset is where the data buffer starts in the file (8 + header length).
	DataOffset int64
	// DataSize is the length of the data buffer.
	DataSize int64

	index map[string]int
}

// Lookup returns the entry for name.
func (h *Header) Lookup(name string) (TensorInfo, bool) {
	i, ok := h.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return h.Tensors[i], true
}

// Names returns the tensor names in data-offset order.
func (h *Header) Names() []string {
	out := make([]string, len(h.Tensors))
	for i, t := range h.Tensors {
		out[i] = t.Name
	}
	return out
}

// ReadHeader reads and validates the header of a safetensors file of the given
// size through r. It reads only the header bytes.
func ReadHeader(r io.ReaderAt, size int64) (*Header, error) {
	if size < 8 {
		return nil, ErrHeaderTooSmall
	}
	var lenb [8]byte
	if _, err := r.ReadAt(lenb[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	n, err := headerLen(lenb[:], size)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 8); err != nil {
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	return parseHeader(buf, size)
}

// ParseHeader validates the header at the start of data, the whole file.
func ParseHeader(data []byte) (*Header, error) {
	if len(data) < 8 {
		return nil, ErrHeaderTooSmall
	}
	n, err := headerLen(data[:8], int64(len(data)))
	if err != nil {
		return nil, err
	}
	return parseHeader(data[8:8+n], int64(len(data)))
}

func headerLen(b []byte, size int64) (int64, error) {
	u := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	if u > MaxHeaderSize {
		return 0, fmt.Errorf("%w: %d bytes (limit %d)", ErrHeaderTooLarge, u, MaxHeaderSize)
	}
	if int64(u) > size-8 {
		return 0, fmt.Errorf("%w: %d bytes in a file of %d", ErrInvalidHeaderLen, u, size)
	}
	return int64(u), nil
}

// parseHeader parses the JSON text hb of a file of fileSize bytes.
func parseHeader(hb []byte, fileSize int64) (*Header, error) {
	if !utf8.Valid(hb) {
		return nil, ErrInvalidHeader
	}
	h := &Header{DataOffset: 8 + int64(len(hb)), index: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(hb))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	seenMeta := false
	for dec.More() {
		off := dec.InputOffset()
		key, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if key == "__metadata__" {
			if seenMeta {
				return nil, headerErr(off, fmt.Errorf("%w: %q", ErrDuplicateKey, key))
			}
			seenMeta = true
			if h.Metadata, err = parseMetadata(dec); err != nil {
				return nil, headerErr(off, err)
			}
			continue
		}
		if _, dup := h.index[key]; dup {
			return nil, headerErr(off, fmt.Errorf("%w: %q", ErrDuplicateKey, key))
		}
		ti, err := parseInfo(dec, key)
		if err != nil {
			return nil, headerErr(off, fmt.Errorf("tensor %q: %w", key, err))
		}
		h.index[key] = len(h.Tensors)
		h.Tensors = append(h.Tensors, ti)
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	// Only whitespace may follow (the writer pads with spaces).
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the header object", ErrInvalidJSON)
	}
	if err := h.validate(fileSize); err != nil {
		return nil, err
	}
	return h, nil
}

// validate checks offsets and sizes, sorting the tensors by offset first as
// the reference does (files written by old versions are ordered by name).
func (h *Header) validate(fileSize int64) error {
	sort.SliceStable(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		return a.End < b.End
	})
	var pos int64
	for i, t := range h.Tensors {
		h.index[t.Name] = i
		if t.Begin != pos || t.End < t.Begin {
			return fmt.Errorf("tensor %q: %w: [%d, %d] where %d was expected to start", t.Name, ErrInvalidOffset, t.Begin, t.End, pos)
		}
		pos = t.End
		bits, ok := numBytes(t.Shape, byName[t.Code].bits)
		if !ok {
			return fmt.Errorf("tensor %q: %w: shape %v", t.Name, ErrOverflow, t.Shape)
		}
		if bits%8 != 0 {
			return fmt.Errorf("tensor %q: %w: %s%v is %d bits, not whole bytes", t.Name, ErrTensorInvalidInfo, t.Code, t.Shape, bits)
		}
		n := bits / 8
		if n != t.End-t.Begin {
			return fmt.Errorf("tensor %q: %w: %s%v needs %d bytes, offsets give %d", t.Name, ErrTensorInvalidInfo, t.Code, t.Shape, n, t.End-t.Begin)
		}
	}
	if h.DataOffset+pos != fileSize {
		return fmt.Errorf("%w: tensors end at %d, the file at %d", ErrIncompleteBuffer, h.DataOffset+pos, fileSize)
	}
	h.DataSize = pos
	return nil
}

// numBytes returns prod(shape)*size, or false on overflow of int64.
func numBytes(shape []int64, size int64) (int64, bool) {
	n := uint64(size)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = lo
	}
	return int64(n), true
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	off := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return headerErr(off, fmt.Errorf("%w: %v", ErrInvalidJSON, err))
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return headerErr(off, fmt.Errorf("%w: expected %q, found %v", ErrInvalidJSON, d, tok))
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	off := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return "", headerErr(off, fmt.Errorf("%w: %v", ErrInvalidJSON, err))
	}
	s, ok := tok.(string)
	if !ok {
		return "", headerErr(off, fmt.Errorf("%w: expected a string, found %v", ErrInvalidJSON, tok))
	}
	return s, nil
}

func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	if tok == nil { // "__metadata__": null is what serde writes for None
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: found %v", ErrInvalidMetadata, tok)
	}
	m := map[string]string{}
	for dec.More() {
		k, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("__metadata__: %w: %q", ErrDuplicateKey, k)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
		v, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: value of %q is %T", ErrInvalidMetadata, k, tok)
		}
		m[k] = v
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	return m, nil
}

func parseInfo(dec *json.Decoder, name string) (TensorInfo, error) {
	ti := TensorInfo{Name: name}
	if err := expectDelim(dec, '{'); err != nil {
		return ti, err
	}
	var haveDType, haveShape, haveOffsets bool
	for dec.More() {
		field, err := stringToken(dec)
		if err != nil {
			return ti, err
		}
		switch field {
		case "dtype":
			if haveDType {
				return ti, fmt.Errorf("%w: field %q", ErrDuplicateKey, field)
			}
			haveDType = true
			code, err := stringToken(dec)
			if err != nil {
				return ti, err
			}
			d, ok := byName[code]
			if !ok {
				return ti, fmt.Errorf("%w: %q", ErrUnknownDType, code)
			}
			ti.DType, ti.Code = d.dt, code
		case "shape":
			if haveShape {
				return ti, fmt.Errorf("%w: field %q", ErrDuplicateKey, field)
			}
			haveShape = true
			if ti.Shape, err = uintArray(dec, -1); err != nil {
				return ti, fmt.Errorf("shape: %w", err)
			}
		case "data_offsets":
			if haveOffsets {
				return ti, fmt.Errorf("%w: field %q", ErrDuplicateKey, field)
			}
			haveOffsets = true
			offs, err := uintArray(dec, 2)
			if err != nil {
				return ti, fmt.Errorf("data_offsets: %w", err)
			}
			ti.Begin, ti.End = offs[0], offs[1]
		default:
			// The reference ignores unknown fields; so do we, after checking
			// the value is well-formed JSON.
			if err := skipValue(dec); err != nil {
				return ti, err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return ti, err
	}
	if !haveDType || !haveShape || !haveOffsets {
		return ti, fmt.Errorf("%w: dtype, shape and data_offsets are all required", ErrInvalidJSON)
	}
	if ti.Shape == nil {
		ti.Shape = []int64{}
	}
	return ti, nil
}

// uintArray reads a JSON array of non-negative integers that fit in int64;
// want ≥ 0 demands exactly that many.
func uintArray(dec *json.Decoder, want int) ([]int64, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	var out []int64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%w: %v is not a number", ErrInvalidJSON, tok)
		}
		v, err := strconv.ParseUint(string(num), 10, 63)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("%w: %s", ErrOverflow, num)
			}
			return nil, fmt.Errorf("%w: %s is not a non-negative integer", ErrInvalidJSON, num)
		}
		if want >= 0 && len(out) == want {
			return nil, fmt.Errorf("%w: more than %d values", ErrInvalidJSON, want)
		}
		out = append(out, int64(v))
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, err
	}
	if want >= 0 && len(out) != want {
		return nil, fmt.Errorf("%w: %d values, want %d", ErrInvalidJSON, len(out), want)
	}
	return out, nil
}

// skipValue consumes one JSON value of any kind.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
