package tensor

import (
	"bytes"
	"errors"
	"testing"
	"unsafe"
)

// TestSizes pins the sizes of Tensor and Storage. pth.Open makes one of each
// per tensor (20,000 for a state_dict of small tensors, in slabs), and fresh
// memory costs time on first touch, so every byte counts 20 KB a file there.
// A new field that grows either is a choice to make consciously: raise the
// limit here with it.
func TestSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes pinned for 64-bit hosts")
	}
	if got := unsafe.Sizeof(Tensor{}); got > 80 {
		t.Errorf("Tensor is %d bytes, want at most 80", got)
	}
	if got := unsafe.Sizeof(Storage{}); got > 64 {
		t.Errorf("Storage is %d bytes, want at most 64", got)
	}
}

// TestResidentStorage checks the resident bytes kept as a pointer and a
// length: Bytes returns exactly the bytes given, shared, nil stays nil, and
// a changed NBytes is reported instead of reading past the bytes.
func TestResidentStorage(t *testing.T) {
	buf := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, s := range []*Storage{NewStorage(Uint8, buf[2:6]), NewStorageOrder(Uint8, buf[2:6], true), new(StorageArena).NewStorageOrder(Int32, buf[2:6], false)} {
		b, err := s.Bytes()
		if err != nil || !bytes.Equal(b, []byte{3, 4, 5, 6}) || &b[0] != &buf[2] {
			t.Fatalf("%v: % x %v, want buf[2:6] shared", s.DType, b, err)
		}
		if cap(b) != 4 {
			t.Errorf("%v: capacity %d reaches past the storage", s.DType, cap(b))
		}
		for _, n := range []int64{5, 3, 1 << 40} {
			s.NBytes = n
			if _, err := s.Bytes(); !errors.Is(err, ErrShortRead) {
				t.Errorf("%v with NBytes %d: %v, want ErrShortRead", s.DType, n, err)
			}
		}
		s.NBytes = -1
		if _, err := s.Bytes(); !errors.Is(err, ErrShape) {
			t.Errorf("%v with NBytes -1: %v, want ErrShape", s.DType, err)
		}
	}
	if b, err := NewStorage(Float32, nil).Bytes(); err != nil || b != nil {
		t.Errorf("nil data: %v %v, want nil", b, err)
	}
	if b, err := NewStorage(Float32, []byte{}).Bytes(); err != nil || b == nil || len(b) != 0 {
		t.Errorf("empty data: %v %v, want empty, not nil", b, err)
	}
	var z Storage
	if b, err := z.Bytes(); err != nil || b != nil {
		t.Errorf("zero Storage: %v %v", b, err)
	}
	// A copy of a Storage holds the same bytes.
	s := NewStorage(Uint8, buf)
	c := *s
	if b, err := c.Bytes(); err != nil || &b[0] != &buf[0] || len(b) != len(buf) {
		t.Errorf("copied Storage: % x %v", b, err)
	}
}

// TestLongResidentStorage checks the path of resident bytes too long for the
// length field (4 GiB or more, too big to make here): pending raw bytes with
// nothing to swap are returned as they are, not copied, once their size is
// checked.
func TestLongResidentStorage(t *testing.T) {
	buf := []byte{1, 2, 3, 4}
	s := &Storage{DType: Float32, NBytes: 4, Location: "cpu", pending: &pending{raw: buf}}
	for range 2 {
		b, err := s.Bytes()
		if err != nil || len(b) != 4 || &b[0] != &buf[0] {
			t.Fatalf("% x %v, want buf itself", b, err)
		}
	}
	bad := &Storage{DType: Float32, NBytes: 8, Location: "cpu", pending: &pending{raw: buf}}
	if _, err := bad.Bytes(); !errors.Is(err, ErrShortRead) {
		t.Errorf("NBytes 8 over 4 bytes: %v, want ErrShortRead", err)
	}
}
