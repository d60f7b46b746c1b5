package safetensors

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/pthkit/pth/internal/filecopy"
	"github.com/pthkit/pth/tensor"
)

// Spec declares one tensor to write: its name, dtype and C-order shape.
type Spec struct {
	Name  string
	DType tensor.DType
	Shape []int64
}

// Writer writes a safetensors file in one pass: the header first, then each
// tensor's bytes in Order(). It buffers nothing but a small write buffer.
type Writer struct {
	dst    io.Writer // what bw writes to; file sections are copied to it directly
	bw     *bufio.Writer
	order  []Spec
	sizes  []int64
	next   int
	header []byte
	err    error
}

// Sort orders specs the way the Python/Rust library writes them: by dtype
// alignment descending (the Rust Dtype enum order, reversed), then by name
// (byte order).
func Sort(specs []Spec) {
	sort.SliceStable(specs, func(i, j int) bool {
		ri, rj := byDType[specs[i].DType].rank, byDType[specs[j].DType].rank
		if ri != rj {
			return ri > rj
		}
		return specs[i].Name < specs[j].Name
	})
}

// EncodeHeader returns the padded JSON header for specs (already in file
// order) and metadata, byte for byte as the Rust library (serde_json) writes
// it: compact, "__metadata__" first (its keys sorted, since the Rust map has
// no order of its own), then the tensors with fields dtype, shape,
// data_offsets, and spaces up to a multiple of 8 bytes.
func EncodeHeader(specs []Spec, metadata map[string]string) ([]byte, []int64, error) {
	buf := []byte{'{'}
	first := true
	if metadata != nil {
		buf = appendJSONString(buf, "__metadata__")
		buf = append(buf, ':', '{')
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if !utf8.ValidString(k) || !utf8.ValidString(metadata[k]) {
				return nil, nil, fmt.Errorf("%w: %q is not UTF-8", ErrInvalidMetadata, k)
			}
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = appendJSONString(buf, metadata[k])
		}
		buf = append(buf, '}')
		first = false
	}
	sizes := make([]int64, len(specs))
	seen := make(map[string]bool, len(specs))
	var off int64
	for i, s := range specs {
		if s.Name == "__metadata__" || !utf8.ValidString(s.Name) {
			return nil, nil, fmt.Errorf("%w: %q", ErrInvalidTensorName, s.Name)
		}
		if seen[s.Name] {
			return nil, nil, fmt.Errorf("%w: %q", ErrDuplicateKey, s.Name)
		}
		seen[s.Name] = true
		d, ok := byDType[s.DType]
		if !ok {
			return nil, nil, fmt.Errorf("tensor %q: %w: dtype %d", s.Name, ErrUnsupportedDType, s.DType)
		}
		n, ok := numBytes(s.Shape, d.size)
		if !ok || off+n < off {
			return nil, nil, fmt.Errorf("tensor %q: %w: shape %v", s.Name, ErrOverflow, s.Shape)
		}
		sizes[i] = n
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendJSONString(buf, s.Name)
		buf = append(buf, `:{"dtype":`...)
		buf = appendJSONString(buf, d.name)
		buf = append(buf, `,"shape":[`...)
		for j, dim := range s.Shape {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, dim, 10)
		}
		buf = append(buf, `],"data_offsets":[`...)
		buf = strconv.AppendInt(buf, off, 10)
		buf = append(buf, ',')
		off += n
		buf = strconv.AppendInt(buf, off, 10)
		buf = append(buf, ']', '}')
	}
	buf = append(buf, '}')
	for len(buf)%8 != 0 {
		buf = append(buf, ' ')
	}
	if len(buf) > MaxHeaderSize {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrHeaderTooLarge, len(buf))
	}
	return buf, sizes, nil
}

// appendJSONString appends s as serde_json writes a string: only '"', '\\'
// and control characters are escaped; other characters are written as is.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			buf = append(buf, '\\', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			if c < 0x20 {
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			} else {
				buf = append(buf, c)
			}
		}
	}
	return append(buf, '"')
}

// NewWriter sorts specs into file order (see Sort), writes the header to w and
// returns a Writer expecting the tensors' bytes in Order(). metadata may be nil.
func NewWriter(w io.Writer, specs []Spec, metadata map[string]string) (*Writer, error) {
	order := append([]Spec(nil), specs...)
	Sort(order)
	hb, sizes, err := EncodeHeader(order, metadata)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(len(hb)))
	if _, err := bw.Write(lenb[:]); err != nil {
		return nil, err
	}
	if _, err := bw.Write(hb); err != nil {
		return nil, err
	}
	return &Writer{dst: w, bw: bw, order: order, sizes: sizes, header: hb}, nil
}

// Order returns the tensors in the order their bytes must be written.
func (w *Writer) Order() []Spec { return w.order }

// HeaderSize returns the length of the JSON header including its padding.
func (w *Writer) HeaderSize() int { return len(w.header) }

// Write writes the bytes of the next tensor, which must be name.
func (w *Writer) Write(name string, data []byte) error {
	if err := w.expect(name, int64(len(data))); err != nil {
		return err
	}
	if _, err := w.bw.Write(data); err != nil {
		w.err = err
		return err
	}
	w.next++
	return nil
}

// WriteFrom copies the next tensor's bytes, which must be name, from r. When r is
// an unread *io.SectionReader of a file and the Writer writes to a file, the bytes
// are copied inside the kernel (internal/filecopy) instead of through the buffer.
func (w *Writer) WriteFrom(name string, r io.Reader) error {
	if err := w.expect(name, -1); err != nil {
		return err
	}
	n, err := filecopy.CopyN(w.dst, w.bw, r, w.sizes[w.next])
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("tensor %q: %w: got %d of %d bytes", name, ErrWriteSize, n, w.sizes[w.next])
		}
		w.err = err
		return err
	}
	w.next++
	return nil
}

func (w *Writer) expect(name string, n int64) error {
	if w.err != nil {
		return w.err
	}
	if w.next >= len(w.order) || w.order[w.next].Name != name {
		want := "nothing more"
		if w.next < len(w.order) {
			want = strconv.Quote(w.order[w.next].Name)
		}
		return fmt.Errorf("%w: %q, expected %s", ErrWriteOrder, name, want)
	}
	if n >= 0 && n != w.sizes[w.next] {
		return fmt.Errorf("tensor %q: %w: %d bytes, shape and dtype need %d", name, ErrWriteSize, n, w.sizes[w.next])
	}
	return nil
}

// Close flushes the buffer and checks that every tensor was written. It does
// not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if w.next != len(w.order) {
		return fmt.Errorf("%w: %d of %d", ErrWriteIncomplete, w.next, len(w.order))
	}
	return nil
}
