package pth

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/zipfile"
	"github.com/pthkit/pth/internal/ziptest"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// knownError reports whether err is one of the typed errors a reader may return.
func knownError(err error) bool {
	for _, s := range []error{ErrFormat, ErrPreviewFormat, ErrMissingRecord, ErrStorageSize, ErrTensorBounds,
		ErrInvalid, ErrUnsupported, ErrChecksum, ErrWeightsOnly, ErrUnsafeGlobal, pickle.ErrLimit, pickle.ErrTruncated, pickle.ErrMalformed, pickle.ErrUnsupported} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestTruncated cuts fixtures of every container at many lengths: each must
// give a typed, located error (or, where the cut leaves a valid file, succeed),
// never a panic.
func TestTruncated(t *testing.T) {
	for _, name := range []string{"zip/simplenet.pt", "legacy/simplenet.pt", "tar/tied.tar", "legacy/views.pt", "proto/mixed_p4.pt"} {
		data, err := os.ReadFile(fixturePath(name))
		if err != nil {
			t.Fatal(err)
		}
		step := len(data)/97 + 1
		for n := 0; n < len(data); n += step {
			_, err := NewReader(&readerAt{data[:n]}, int64(n), nil)
			if err == nil {
				continue
			}
			if !knownError(err) {
				t.Errorf("%s cut at %d: untyped error %v", name, n, err)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("%s cut at %d: error %v is not located", name, n, err)
			}
		}
	}
}

// TestLegacyStorageTruncated: the legacy stream ends inside a storage's data;
// the error names the storage key.
func TestLegacyStorageTruncated(t *testing.T) {
	data, err := os.ReadFile(fixturePath("legacy/tensor_root.pt"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewReader(&readerAt{data[:len(data)-3]}, int64(len(data)-3), nil)
	var pe *Error
	if !errors.Is(err, ErrStorageSize) || !errors.As(err, &pe) || pe.Key == "" {
		t.Fatalf("got %v, want ErrStorageSize naming the key", err)
	}
}

// rewriteZip copies a zip fixture, letting edit change each record's bytes.
func rewriteZip(t *testing.T, name string, edit func(rec string, b []byte) []byte) []byte {
	t.Helper()
	data, err := os.ReadFile(fixturePath(name))
	if err != nil {
		t.Fatal(err)
	}
	return ziptest.Rewrite(t, data, edit)
}

// TestZipStorageShort: a data/<key> record shorter than numel·element size.
func TestZipStorageShort(t *testing.T) {
	b := rewriteZip(t, "zip/simplenet.pt", func(rec string, b []byte) []byte {
		if strings.HasSuffix(rec, "/data/1") {
			return b[:len(b)-4]
		}
		return b
	})
	_, err := NewReader(bytes.NewReader(b), int64(len(b)), nil)
	var pe *Error
	if !errors.Is(err, ErrStorageSize) || !errors.As(err, &pe) || pe.Key != "fc1.bias" || !strings.HasSuffix(pe.Record, "data.pkl") ||
		!strings.Contains(err.Error(), `key "1"`) || !strings.Contains(err.Error(), "data/1") {
		t.Fatalf("got %v, want ErrStorageSize for fc1.bias, storage key 1", err)
	}
	// A missing record.
	b = rewriteZip(t, "zip/simplenet.pt", func(rec string, b []byte) []byte { return b })
	b = bytes.Replace(b, []byte("simplenet/data/2"), []byte("simplenet/data/X"), -1)
	_, err = NewReader(bytes.NewReader(b), int64(len(b)), nil)
	if !errors.Is(err, ErrMissingRecord) || !errors.As(err, &pe) || pe.Key != "fc2.weight" || !strings.Contains(err.Error(), "data/2") {
		t.Fatalf("got %v, want ErrMissingRecord for fc2.weight, record data/2", err)
	}
}

// TestZipCRC: VerifyCRC catches a flipped byte in a tensor record; without it
// the file opens (PyTorch's reader does not check either).
func TestZipCRC(t *testing.T) {
	data, err := os.ReadFile(fixturePath("zip/simplenet.pt"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewReader(bytes.NewReader(data), int64(len(data)), &Options{VerifyCRC: true})
	if err != nil {
		t.Fatalf("intact file: %v", err)
	}
	var rec Record
	for _, r := range f.Records() {
		if strings.HasSuffix(r.Name, "/data/0") {
			rec = r
		}
	}
	if rec.Size == 0 {
		t.Fatalf("no data/0 in %v", f.Records())
	}
	bad := append([]byte{}, data...)
	bad[rec.Offset] ^= 0xff
	if _, err := NewReader(bytes.NewReader(bad), int64(len(bad)), &Options{VerifyCRC: true}); !errors.Is(err, ErrChecksum) {
		t.Fatalf("got %v, want ErrChecksum", err)
	}
	if _, err := NewReader(bytes.NewReader(bad), int64(len(bad)), nil); err != nil {
		t.Fatalf("without VerifyCRC: %v", err)
	}
}

// tensorPickle builds a data.pkl with one _rebuild_tensor_v2 call.
func tensorPickle(numel, offset int64, size, stride pickle.Tuple) []byte {
	pid := pickle.PersistentID{ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: "FloatStorage"}, "0", "cpu", numel}}
	v := pickle.NewDict()
	v.Set("w", reduce(gRebuildV2, pid, offset, size, stride, false, emptyOrderedDict()))
	b, err := pickle.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func handZip(t *testing.T, pkl []byte, storage []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zipfile.NewWriter(&out, "x")
	if err := zw.WriteRecord("data.pkl", pkl); err != nil {
		t.Fatal(err)
	}
	if err := zw.WriteRecord("data/0", storage); err != nil {
		t.Fatal(err)
	}
	if err := zw.WriteRecord("version", []byte("3\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestBadViews: offsets and strides reaching outside the storage, negative
// strides, rank mismatches and storages longer than their record.
func TestBadViews(t *testing.T) {
	four := make([]byte, 16)
	cases := []struct {
		name    string
		numel   int64
		offset  int64
		size    pickle.Tuple
		stride  pickle.Tuple
		storage []byte
		want    error
	}{
		{"ok", 4, 0, pickle.Tuple{int64(2), int64(2)}, pickle.Tuple{int64(2), int64(1)}, four, nil},
		{"offset past end", 4, 3, pickle.Tuple{int64(2)}, pickle.Tuple{int64(1)}, four, ErrTensorBounds},
		{"stride past end", 4, 0, pickle.Tuple{int64(2), int64(2)}, pickle.Tuple{int64(3), int64(1)}, four, ErrTensorBounds},
		{"huge stride", 4, 0, pickle.Tuple{int64(2)}, pickle.Tuple{int64(1) << 62}, four, ErrTensorBounds},
		{"negative stride", 4, 0, pickle.Tuple{int64(2)}, pickle.Tuple{int64(-1)}, four, ErrTensorBounds},
		{"negative offset", 4, -1, pickle.Tuple{int64(1)}, pickle.Tuple{int64(1)}, four, ErrTensorBounds},
		{"rank mismatch", 4, 0, pickle.Tuple{int64(2), int64(2)}, pickle.Tuple{int64(1)}, four, ErrTensorBounds},
		{"numel beyond record", 8, 0, pickle.Tuple{int64(8)}, pickle.Tuple{int64(1)}, four, ErrStorageSize},
		{"numel overflow", 1 << 62, 0, pickle.Tuple{int64(1)}, pickle.Tuple{int64(1)}, four, ErrInvalid},
		{"size not ints", 4, 0, pickle.Tuple{"2"}, pickle.Tuple{int64(1)}, four, ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := handZip(t, tensorPickle(c.numel, c.offset, c.size, c.stride), c.storage)
			f, err := NewReader(bytes.NewReader(b), int64(len(b)), nil)
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				ts := Tensors(f.Root)
				if len(ts) != 1 || ts[0].Path != "w" || !equalInts(ts[0].T.Shape, []int64{2, 2}) {
					t.Fatalf("tensors %v", ts)
				}
				return
			}
			var pe *Error
			if !errors.Is(err, c.want) || !errors.As(err, &pe) || pe.Key == "" {
				t.Fatalf("got %v, want %v naming a key", err, c.want)
			}
		})
	}
}

func TestPreviewFormat(t *testing.T) {
	data := append([]byte("PYTORCH1"), make([]byte, 100)...)
	if _, err := NewReader(&readerAt{data}, int64(len(data)), nil); !errors.Is(err, ErrPreviewFormat) {
		t.Fatalf("got %v", err)
	}
	if _, err := NewReader(&readerAt{nil}, 0, nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("empty: got %v", err)
	}
}

// failingReader fails every read.
type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

// TestSaveAtomic: when writing fails midway the destination keeps its old
// contents and no temporary file is left behind.
func TestSaveAtomic(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "model.pt")
	if err := os.WriteFile(dst, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := tensor.FromFloat32([]int64{2}, []float32{1, 2})
	bad := &tensor.Tensor{Storage: tensor.NewLazyStorage(tensor.Float32, failingReader{}, 0, 8, false), DType: tensor.Float32, Shape: []int64{2}, Strides: []int64{1}}
	sd := NewOrderedDict()
	sd.Set("a", good)
	sd.Set("b", bad)
	err := Save(dst, sd, nil)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Save: %v", err)
	}
	b, _ := os.ReadFile(dst)
	if string(b) != "old contents" {
		t.Fatalf("destination changed to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	// An unsaveable value also leaves everything untouched.
	if err := Save(dst, map[string]int{}, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Save of a Go map: %v", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "old contents" {
		t.Fatalf("destination changed")
	}
	// And a good save replaces it.
	sd2 := NewOrderedDict()
	sd2.Set("a", good)
	if err := Save(dst, sd2, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ts := Tensors(f.Root); len(ts) != 1 || ts[0].Path != "a" {
		t.Fatalf("saved tensors %v", ts)
	}
	if r := f.Records(); len(r) == 0 || !strings.HasPrefix(r[0].Name, "model/") {
		t.Fatalf("records %v", r)
	}
	for _, r := range f.Records() {
		if r.Offset%64 != 0 {
			t.Errorf("record %s at %d is not 64-byte aligned", r.Name, r.Offset)
		}
	}
}

// TestRebuildTensorV3 reads the form PyTorch ≥ 2.1 writes for dtypes without a
// storage class (reference §1b): _rebuild_tensor_v3 over a
// torch.storage.UntypedStorage whose numel counts bytes, with the dtype as an
// extra argument; and Save writes float8 tensors in that form.
func TestRebuildTensorV3(t *testing.T) {
	pid := pickle.PersistentID{ID: pickle.Tuple{"storage", gUntyped, "0", "cpu", int64(4)}}
	v := pickle.NewDict()
	v.Set("f8", reduce(gRebuildV3, pid, int64(1), pickle.Tuple{int64(3)}, pickle.Tuple{int64(1)}, false,
		emptyOrderedDict(), pickle.Global{Module: "torch", Name: "float8_e4m3fn"}))
	pkl, err := pickle.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	// 0x38 is 1.0 in float8_e4m3fn, 0x40 is 2.0, 0xb8 is -1.0.
	b := handZip(t, pkl, []byte{0x00, 0x38, 0x40, 0xb8})
	f, err := NewReader(bytes.NewReader(b), int64(len(b)), &Options{WeightsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := Tensors(f.Root)
	if len(ts) != 1 || ts[0].T.DType != tensor.Float8E4M3FN || ts[0].T.Offset != 1 {
		t.Fatalf("tensors %+v", ts)
	}
	got, err := ts[0].T.Float32s()
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != -1 {
		t.Fatalf("values %v %v", got, err)
	}
	// Writing it back uses the same form.
	var out bytes.Buffer
	if err := SaveTo(&out, "x", f.Root); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ctorch._utils\n_rebuild_tensor_v3\n", "ctorch.storage\nUntypedStorage\n", "ctorch\nfloat8_e4m3fn\n"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("saved pickle lacks %q", want)
		}
	}
	g, err := NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ts := Tensors(g.Root); len(ts) != 1 || ts[0].T.DType != tensor.Float8E4M3FN {
		t.Fatalf("re-read %+v", ts)
	}
}

// TestMappedErrorsOwnNames: a file opened by path is read in place from its
// mapping, and Open unmaps it when it fails, so every record name an error
// carries must be a copy. Each corrupted file here fails in a different place
// that names a record; reading the error after Open returned would fault
// (or print garbage) if the name still viewed the mapping.
func TestMappedErrorsOwnNames(t *testing.T) {
	data, err := os.ReadFile(fixturePath("zip/simplenet.pt"))
	if err != nil {
		t.Fatal(err)
	}
	var data0 Record
	f, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Records() {
		if strings.HasSuffix(r.Name, "/data/0") {
			data0 = r
		}
	}
	crc := append([]byte{}, data...)
	crc[data0.Offset] ^= 0xff
	short := ziptest.Rewrite(t, data, func(name string, b []byte) []byte {
		if strings.HasSuffix(name, "/data/0") {
			return b[:len(b)-4]
		}
		return b
	})
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		data []byte
		opts *Options
		want error
	}{
		{"crc", crc, &Options{VerifyCRC: true}, ErrChecksum},
		{"short", short, nil, ErrStorageSize},
	} {
		path := filepath.Join(dir, c.name+".pt")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path, c.opts)
		var pe *Error
		if !errors.Is(err, c.want) || !errors.As(err, &pe) {
			t.Fatalf("%s: got %v, want a located %v", c.name, err, c.want)
		}
		// Allocate and collect, so that a name left viewing the unmapped
		// memory would not be saved by chance.
		runtime.GC()
		if msg := err.Error(); !strings.Contains(msg, "data/0") {
			t.Errorf("%s: error %q does not name data/0", c.name, msg)
		}
	}

	// Records: copies, kept after Close if asked before; nil if first asked after.
	path := filepath.Join(dir, "ok.pt")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := g.Records()
	g.Close()
	if len(recs) != len(f.Records()) || len(g.Records()) != len(recs) {
		t.Fatalf("Records: %d before Close, %d after, want %d", len(recs), len(g.Records()), len(f.Records()))
	}
	for i, r := range recs {
		if r != f.Records()[i] {
			t.Errorf("record %d: %+v mapped, %+v read", i, r, f.Records()[i])
		}
	}
	h, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if r := h.Records(); r != nil {
		t.Errorf("Records first called after Close: %d records, want nil", len(r))
	}
}

// TestLazyLocalHeader: Open reads a storage's local header on the storage's
// first use, so a damaged one fails that storage (a located ErrFormat naming
// the record), not the open; Records gives it Offset -1. NewReader, which
// reads every header at open, refuses the file.
func TestLazyLocalHeader(t *testing.T) {
	data, err := os.ReadFile(fixturePath("zip/simplenet.pt"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zipfile.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var rec *zipfile.Record
	for _, r := range zr.Records() {
		if strings.HasSuffix(r.Name, "/data/0") {
			rec = r
		}
	}
	if rec == nil {
		t.Fatal("no data/0")
	}
	bad := bytes.Clone(data)
	bad[rec.HeaderOffset] = 'X' // the local header's signature
	if _, err := NewReader(bytes.NewReader(bad), int64(len(bad)), nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("NewReader: %v, want ErrFormat", err)
	}
	path := filepath.Join(t.TempDir(), "bad.pt")
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	failed := 0
	for _, nt := range Tensors(f.Root) {
		_, err := nt.T.Storage.Bytes()
		if err == nil {
			continue
		}
		failed++
		var pe *Error
		if !errors.Is(err, ErrFormat) || !errors.As(err, &pe) || !strings.HasSuffix(pe.Record, "/data/0") || pe.Offset != rec.HeaderOffset {
			t.Errorf("%s: %v, want ErrFormat located at data/0's header (%d)", nt.Path, err, rec.HeaderOffset)
		}
	}
	if failed == 0 {
		t.Error("no storage failed")
	}
	for _, r := range f.Records() {
		if (r.Offset == -1) != strings.HasSuffix(r.Name, "/data/0") {
			t.Errorf("record %s: offset %d", r.Name, r.Offset)
		}
	}
}
