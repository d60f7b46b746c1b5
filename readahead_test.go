package pth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pthkit/pth/tensor"
)

// mappingRSS returns the resident bytes of the mapping that starts at m, from
// the kernel's /proc/self/smaps.
func mappingRSS(t *testing.T, m []byte) int64 {
	t.Helper()
	fh, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer fh.Close()
	start := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(unsafe.SliceData(m))))
	sc := bufio.NewScanner(fh)
	found := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, start) {
			found = true
			continue
		}
		if found && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("mapping %s not in /proc/self/smaps", start)
	return 0
}

// TestOpenTouchesNoTensorBytes: opening and indexing a file maps in almost
// none of it (the kernel's count of resident pages of the mapping), and
// ReadAhead then brings in the storage's whole range at once.
func TestOpenTouchesNoTensorBytes(t *testing.T) {
	const n = 16 << 20 // float32 elements: 64 MiB
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i % 251)
	}
	f := saveAndOpen(t, &StateDict{Keys: []string{"big", "small"}, Tensors: map[string]*tensor.Tensor{
		"big":   tensor.FromFloat32([]int64{n}, vals),
		"small": tensor.FromFloat32([]int64{2}, []float32{1, 2}),
	}})
	defer f.Close()
	var big *tensor.Tensor
	for _, nt := range Tensors(f.Root) {
		if nt.Path == "big" {
			big = nt.T
		}
	}
	if big == nil {
		t.Fatal("no tensor big")
	}
	// A fault maps a whole page-cache folio (up to 2 MiB on current kernels),
	// so the few places Open reads (the first bytes, local headers, data.pkl,
	// the central directory) may map a few MiB; reading the tensor would map 64.
	if rss := mappingRSS(t, f.mapped); rss > 8<<20 {
		t.Fatalf("after Open, %d bytes of the %d-byte mapping are resident", rss, len(f.mapped))
	}
	f.ReadAhead(big.Storage)
	b, err := big.Storage.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	region, ok := pageRange(f.mapped, b)
	if !ok {
		t.Fatal("the storage does not view the mapping")
	}
	// Kernels before 5.14 lack MADV_POPULATE_READ; ReadAhead then only starts readahead.
	if unix.Madvise(region[:1], unix.MADV_POPULATE_READ) == nil {
		if rss := mappingRSS(t, f.mapped); rss < 4*n {
			t.Errorf("after ReadAhead, %d bytes resident, want at least the storage's %d", rss, 4*n)
		}
	}
	want := tensor.FromFloat32([]int64{n}, vals)
	wb, _ := want.Storage.Bytes()
	if !bytes.Equal(b, wb) {
		t.Fatal("storage bytes differ from the saved values")
	}
	f.Close()
	f.ReadAhead(big.Storage) // after Close: a no-op, not a fault
}

// TestOpenManySmallTouchesDirectoryOnly: in a state_dict of many small
// tensors each record's local header shares pages with tensor data, so
// reading every header at open would map in the whole file. Open reads the
// central directory and data.pkl; a storage's local header is read on its
// first use. A storage first used after Close reports ErrClosed.
func TestOpenManySmallTouchesDirectoryOnly(t *testing.T) {
	const tensors, elems = 2000, 4096 // 2000 × 16 KiB: 32 MiB of tensor data
	sd := &StateDict{Tensors: map[string]*tensor.Tensor{}}
	for i := range tensors {
		vals := make([]float32, elems)
		for j := range vals {
			vals[j] = float32(i*elems + j)
		}
		k := fmt.Sprintf("layer%d.weight", i)
		sd.Keys = append(sd.Keys, k)
		sd.Tensors[k] = tensor.FromFloat32([]int64{elems}, vals)
	}
	f := saveAndOpen(t, sd)
	nts := Tensors(f.Root)
	if len(nts) != tensors {
		t.Fatalf("%d tensors", len(nts))
	}
	if rss := mappingRSS(t, f.mapped); rss > int64(len(f.mapped))/4 {
		t.Errorf("after Open, %d bytes of the %d-byte mapping are resident", rss, len(f.mapped))
	}
	for i, nt := range nts[:tensors-1] {
		got, err := nt.T.Float32s()
		if err != nil || got[0] != float32(i*elems) || got[elems-1] != float32(i*elems+elems-1) {
			t.Fatalf("%s: %v…, %v", nt.Path, got[:2], err)
		}
	}
	f.Close()
	last := nts[tensors-1].T
	if _, err := last.Storage.Bytes(); !errors.Is(err, ErrClosed) {
		t.Errorf("first use after Close: %v, want ErrClosed", err)
	}
}

// TestDeferredStoragesConcurrent: storages first used from several
// goroutines at once give every goroutine the same bytes (run with -race).
func TestDeferredStoragesConcurrent(t *testing.T) {
	sd := &StateDict{Tensors: map[string]*tensor.Tensor{}}
	for i := range 200 {
		k := fmt.Sprintf("t%d", i)
		sd.Keys = append(sd.Keys, k)
		sd.Tensors[k] = tensor.FromFloat32([]int64{3}, []float32{float32(i), 1, 2})
	}
	f := saveAndOpen(t, sd)
	defer f.Close()
	nts := Tensors(f.Root)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, nt := range nts {
				v, err := nt.T.Float32s()
				if err != nil || v[0] != float32(i) || v[2] != 2 {
					t.Errorf("%s: %v, %v", nt.Path, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// saveAndOpen writes sd to a temporary file and opens it (mapped).
func saveAndOpen(t *testing.T, sd *StateDict) *File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sd.pt")
	if err := SaveStateDict(path, sd); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
