package pth

import (
	"bytes"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pthkit/pth/tensor"
)

// ReadAhead brings a storage's bytes into memory in one request, before they
// are read. A mapped storage is otherwise read by a page fault every few pages;
// asking the kernel for its whole range at once (madvise MADV_POPULATE_READ,
// or MADV_WILLNEED on kernels before 5.14) makes reading every tensor of a
// file about half as fast again. Call it just before reading a storage's bytes,
// never for storages you will not read: Open itself reads no tensor bytes.
// It does nothing for storages that do not view this file's mapping (files
// opened through NewReader, big-endian storages, compressed records) and after
// Close, nor for storages smaller than a page. The advice is only a hint;
// reading is correct without it.
func (f *File) ReadAhead(s *tensor.Storage) {
	if f.mapped == nil || s == nil {
		return
	}
	b, err := s.Bytes()
	// A storage within a page costs one fault at most: a request costs more.
	if err != nil || len(b) < unix.Getpagesize() {
		return
	}
	region, ok := pageRange(f.mapped, b)
	if !ok {
		return
	}
	if unix.Madvise(region, unix.MADV_POPULATE_READ) != nil {
		_ = unix.Madvise(region, unix.MADV_WILLNEED)
	}
}

// pageRange returns the part of mapping m that b views, widened to start on a
// page boundary (m starts on one), and whether b lies inside m at all.
func pageRange(m, b []byte) ([]byte, bool) {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p-base >= uintptr(len(m)) || uintptr(len(b)) > uintptr(len(m))-(p-base) {
		return nil, false
	}
	off := int(p - base)
	start := off &^ (unix.Getpagesize() - 1)
	return m[start : off+len(b)], true
}

// populate asks the kernel to map n bytes of the file's mapping at off in one
// request (MADV_POPULATE_READ): for ranges Open reads whole anyway, such as
// data.pkl, this replaces a page fault every few pages. It never covers
// tensor bytes, and is a hint only.
func (l *loader) populate(off, n int64) {
	if l.mapped != nil {
		populateRange(l.mapped, off, n)
	}
}

// mappedReader reads a file's mapping. As a zipfile.Mapper it lets the zip
// directory be read in place, and as a zipfile.Prefetcher it maps the
// directory's pages in one request per range (populateRange).
type mappedReader struct {
	*bytes.Reader
	m []byte
}

// Mapped implements zipfile.Mapper: the zip directory is read in place.
func (r *mappedReader) Mapped() []byte { return r.m }

// Prefetch implements zipfile.Prefetcher.
func (r *mappedReader) Prefetch(off, n int64) { populateRange(r.m, off, n) }

// populateRange asks the kernel to map n bytes of mapping m at off in one
// request (MADV_POPULATE_READ), ignoring ranges outside m. A hint only.
func populateRange(m []byte, off, n int64) {
	if off < 0 || n <= 0 || off > int64(len(m)) || n > int64(len(m))-off {
		return
	}
	if region, ok := pageRange(m, m[off:off+n]); ok {
		_ = unix.Madvise(region, unix.MADV_POPULATE_READ)
	}
}
