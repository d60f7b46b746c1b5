package tensor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"unsafe"
)

// Errors returned by this package. They are wrapped with context; test with errors.Is.
var (
	// ErrShortRead: a lazy storage's source ended before NBytes bytes.
	ErrShortRead = errors.New("tensor: storage data truncated")
	// ErrShape: a negative dimension or stride, a shape/stride rank mismatch, a
	// negative offset, or an element count that overflows int64.
	ErrShape = errors.New("tensor: invalid shape or strides")
	// ErrBounds: a view reaches past the end of its storage.
	ErrBounds = errors.New("tensor: view out of storage bounds")
	// ErrDType: the operation does not support the tensor's dtype.
	ErrDType = errors.New("tensor: unsupported dtype")
)

// lazyChunk bounds how much is allocated ahead of data actually read when the
// source's size is unknown, so a lying NBytes cannot allocate unbounded memory.
const lazyChunk = 64 << 20

// sizer is implemented by sources that know their size (io.SectionReader, bytes.Reader, …).
type sizer interface{ Size() int64 }

// Bytes returns the storage's little-endian bytes, reading them on first use.
// It is safe for concurrent use; the first read's error is returned by every
// call (a deferred storage's failed Locate is tried again by the next).
// The returned slice is shared with every tensor viewing the storage: do not modify
// it unless you own the storage.
func (s *Storage) Bytes() ([]byte, error) {
	p := s.pending
	if p == nil {
		data := s.resident()
		if err := s.checkSize(len(data)); err != nil {
			return nil, err
		}
		return data, nil
	}
	if p.loc != nil {
		return s.located(p)
	}
	p.once.Do(func() { p.data, p.err = s.load(p) })
	return p.data, p.err
}

// located returns a deferred storage's bytes, asking p.loc for them on first
// use. data is written once, atomically, after n and under p.mu, and read
// atomically without the lock: a reader that sees it set also sees n. Until
// then n is the Locator's id, read under p.mu; two first uses at once may
// both call Locate, and the first to finish keeps its answer.
func (s *Storage) located(p *pending) ([]byte, error) {
	dataPtr := (*unsafe.Pointer)(unsafe.Pointer(&s.data))
	if d := atomic.LoadPointer(dataPtr); d != nil {
		data := unsafe.Slice((*byte)(d), s.n)
		if err := s.checkSize(len(data)); err != nil {
			return nil, err
		}
		return data, nil
	}
	p.mu.Lock()
	if s.data != nil { // set since the load above
		p.mu.Unlock()
		return s.located(p)
	}
	id := s.n
	p.mu.Unlock()
	if s.NBytes <= 0 || s.NBytes > math.MaxUint32 {
		return nil, fmt.Errorf("storage %q: %w: deferred storage of %d bytes", s.Key, ErrShape, s.NBytes)
	}
	data, err := p.loc.Locate(id, s.NBytes)
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", s.Key, err)
	}
	if err := s.checkSize(len(data)); err != nil {
		return nil, err
	}
	p.mu.Lock()
	if s.data == nil {
		s.n = uint32(len(data))
		atomic.StorePointer(dataPtr, unsafe.Pointer(unsafe.SliceData(data)))
	}
	p.mu.Unlock()
	return s.located(p)
}

// checkSize checks that n bytes are what NBytes says the storage holds.
func (s *Storage) checkSize(n int) error {
	if s.NBytes < 0 {
		return fmt.Errorf("%w: negative size %d", ErrShape, s.NBytes)
	}
	if int64(n) != s.NBytes {
		return fmt.Errorf("storage %q: %w: holds %d bytes, NBytes is %d", s.Key, ErrShortRead, n, s.NBytes)
	}
	return nil
}

// load does p's read or swap.
func (s *Storage) load(p *pending) ([]byte, error) {
	if s.NBytes < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrShape, s.NBytes)
	}
	var data []byte
	if p.src != nil {
		var err error
		data, err = readAtFull(p.src, p.off, s.NBytes)
		p.src = nil
		if err != nil {
			return nil, fmt.Errorf("storage %q: reading %d bytes at offset %d: %w", s.Key, s.NBytes, p.off, err)
		}
	} else {
		if err := s.checkSize(len(p.raw)); err != nil {
			return nil, err
		}
		data = p.raw
		if p.swap {
			data = bytes.Clone(p.raw) // the raw bytes may be a read-only mapping
		}
		p.raw = nil
	}
	if p.swap {
		swapInPlace(data, s.DType)
	}
	return data, nil
}

// readAtFull reads exactly n bytes at off, without trusting n for allocation
// beyond what the source proves it holds.
func readAtFull(r io.ReaderAt, off, n int64) ([]byte, error) {
	if off < 0 {
		return nil, fmt.Errorf("%w: negative offset", ErrShape)
	}
	if sz, ok := r.(sizer); ok {
		if off > sz.Size() || n > sz.Size()-off {
			return nil, fmt.Errorf("%w: source holds %d bytes", ErrShortRead, sz.Size())
		}
		buf := make([]byte, n)
		got, err := r.ReadAt(buf, off)
		if int64(got) < n {
			return nil, fmt.Errorf("%w: got %d bytes at offset %d (%v)", ErrShortRead, got, off+int64(got), err)
		}
		return buf, nil
	}
	var buf []byte
	for int64(len(buf)) < n {
		c := min(n-int64(len(buf)), lazyChunk)
		start := len(buf)
		buf = append(buf, make([]byte, c)...)
		got, err := r.ReadAt(buf[start:], off+int64(start))
		if int64(got) < c {
			return nil, fmt.Errorf("%w: got %d bytes at offset %d (%v)", ErrShortRead, start+got, off+int64(start+got), err)
		}
	}
	if buf == nil {
		buf = []byte{}
	}
	return buf, nil
}

// swapInPlace reverses the bytes of each element (of each component for complex dtypes).
func swapInPlace(b []byte, dt DType) {
	w := dt.Size()
	if dt.IsComplex() {
		w /= 2
	}
	switch w {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
		}
	case 8:
		for i := 0; i+7 < len(b); i += 8 {
			b[i], b[i+1], b[i+2], b[i+3], b[i+4], b[i+5], b[i+6], b[i+7] = b[i+7], b[i+6], b[i+5], b[i+4], b[i+3], b[i+2], b[i+1], b[i]
		}
	}
}

// Elements returns the number of whole elements the storage holds.
func (s *Storage) Elements() int64 {
	if sz := s.DType.Size(); sz > 0 {
		return s.NBytes / int64(sz)
	}
	return 0
}
