package tensor

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// sliceLocator locates storage id at bytes [id*8, id*8+n) of b, failing the
// first fail calls.
type sliceLocator struct {
	b     []byte
	calls atomic.Int32
	fail  int32
}

var errLocate = errors.New("locate failed")

func (l *sliceLocator) Locate(id uint32, n int64) ([]byte, error) {
	if l.calls.Add(1) <= l.fail {
		return nil, errLocate
	}
	off := int64(id) * 8
	if off+n > int64(len(l.b)) {
		return nil, ErrShortRead
	}
	return l.b[off : off+n : off+n], nil
}

// A deferred storage is located on its first use only, views what Locate
// returned (no copy), and is the same from every goroutine.
func TestDeferredStorage(t *testing.T) {
	b := make([]byte, 1024)
	for i := range b {
		b[i] = byte(i)
	}
	loc := &sliceLocator{b: b}
	d := NewDeferred(loc)
	var a StorageArena
	var ss []*Storage
	for id := range uint32(100) {
		ss = append(ss, a.NewDeferred(Float32, 8, d, id))
	}
	if loc.calls.Load() != 0 {
		t.Fatalf("Locate called %d times before any use", loc.calls.Load())
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id, s := range ss {
				got, err := s.Bytes()
				if err != nil || !bytes.Equal(got, b[id*8:id*8+8]) || &got[0] != &b[id*8] || cap(got) != 8 {
					t.Errorf("storage %d: % x, %v", id, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if c := loc.calls.Load(); c < 100 || c > 800 {
		t.Errorf("Locate called %d times for 100 storages used by 8 goroutines", c)
	}
	before := loc.calls.Load()
	for _, s := range ss {
		s.Bytes()
	}
	if loc.calls.Load() != before {
		t.Errorf("Locate called again for located storages")
	}
}

// A failed Locate is returned, wrapped with the storage's key, and tried
// again on the next use; sizes that disagree are refused.
func TestDeferredStorageErrors(t *testing.T) {
	b := make([]byte, 64)
	loc := &sliceLocator{b: b, fail: 1}
	d := NewDeferred(loc)
	var a StorageArena
	s := a.NewDeferred(Float32, 8, d, 1)
	s.Key = "7"
	if _, err := s.Bytes(); !errors.Is(err, errLocate) || !bytes.Contains([]byte(err.Error()), []byte(`"7"`)) {
		t.Fatalf("first use: %v", err)
	}
	if got, err := s.Bytes(); err != nil || len(got) != 8 {
		t.Fatalf("second use: %v", err)
	}
	// NBytes changed after the storage was located
	s.NBytes = 4
	if _, err := s.Bytes(); !errors.Is(err, ErrShortRead) {
		t.Errorf("NBytes 4 over 8 located bytes: %v", err)
	}
	// a storage past the end of what the locator holds
	far := a.NewDeferred(Float32, 8, d, 100)
	if _, err := far.Bytes(); !errors.Is(err, ErrShortRead) {
		t.Errorf("past the end: %v", err)
	}
	// sizes a deferred storage cannot have
	for _, n := range []int64{0, -1, 1 << 33} {
		if _, err := a.NewDeferred(Float32, n, d, 0).Bytes(); !errors.Is(err, ErrShape) {
			t.Errorf("NBytes %d: %v", n, err)
		}
	}
}
