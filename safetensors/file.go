package safetensors

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/pthkit/pth/tensor"
)

// File is an open safetensors file.
type File struct {
	*Header
	name string
	// data is the whole file when resident (mapped or caller-provided bytes).
	data []byte
	// ra is the source when the file is read on demand (NewReader).
	ra     io.ReaderAt
	mapped bool
	closed bool
}

// Open maps the file at path read-only and validates its header. The tensors
// it returns are views of the mapping (no copy) and must not be used after
// Close.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("%s: %w", path, ErrHeaderTooSmall)
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s: %w: file of %d bytes cannot be mapped", path, ErrOverflow, size)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	h, err := ParseHeader(data)
	if err != nil {
		_ = unix.Munmap(data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Header: h, name: path, data: data, mapped: true}, nil
}

// Parse validates data, the bytes of a whole safetensors file, and returns a
// File whose tensors are views of data.
func Parse(data []byte) (*File, error) {
	h, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	return &File{Header: h, data: data}, nil
}

// NewReader reads the header of a safetensors file of the given size through
// r. Tensors are read from r when their bytes are first needed.
func NewReader(r io.ReaderAt, size int64) (*File, error) {
	h, err := ReadHeader(r, size)
	if err != nil {
		return nil, err
	}
	return &File{Header: h, ra: r}, nil
}

// Data returns the bytes of the named tensor. For a mapped or parsed file they
// are a view (no copy); for a reader they are read into a new slice.
func (f *File) Data(name string) ([]byte, error) {
	if f.closed {
		return nil, ErrClosed
	}
	ti, ok := f.Lookup(name)
	if !ok {
		return nil, f.wrap(fmt.Errorf("%w: %q", ErrNotFound, name))
	}
	start := f.DataOffset + ti.Begin
	if f.data != nil {
		return f.data[start : start+ti.NBytes() : start+ti.NBytes()], nil
	}
	buf := make([]byte, ti.NBytes())
	if _, err := f.ra.ReadAt(buf, start); err != nil && !(err == io.EOF && len(buf) == 0) {
		return nil, f.wrap(fmt.Errorf("tensor %q: %w", name, err))
	}
	return buf, nil
}

// Tensor returns the named tensor: contiguous, over a storage holding exactly
// its bytes. For a mapped file the storage is a view of the mapping; for a
// reader it is a lazy storage read on first use.
func (f *File) Tensor(name string) (*tensor.Tensor, error) {
	if f.closed {
		return nil, ErrClosed
	}
	ti, ok := f.Lookup(name)
	if !ok {
		return nil, f.wrap(fmt.Errorf("%w: %q", ErrNotFound, name))
	}
	if ti.DType == tensor.Invalid {
		return nil, f.wrap(fmt.Errorf("tensor %q: %w: %s has no PyTorch dtype (File.Data gives its bytes)", name, ErrUnsupportedDType, ti.Code))
	}
	var st *tensor.Storage
	if f.data != nil {
		b, _ := f.Data(name)
		st = tensor.NewStorage(ti.DType, b)
	} else {
		st = tensor.NewLazyStorage(ti.DType, f.ra, f.DataOffset+ti.Begin, ti.NBytes(), false)
	}
	st.Key = name
	shape := append([]int64{}, ti.Shape...)
	return &tensor.Tensor{Storage: st, DType: ti.DType, Shape: shape, Strides: tensor.ContiguousStrides(shape)}, nil
}

// Close releases the mapping. Tensors from a mapped file are invalid afterwards.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	if f.mapped {
		d := f.data
		f.data = nil
		return unix.Munmap(d)
	}
	return nil
}

func (f *File) wrap(err error) error {
	if f.name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", f.name, err)
}
