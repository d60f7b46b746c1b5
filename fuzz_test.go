package pth

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// seedFuzz adds every fixture file matching the globs to the corpus.
func seedFuzz(f *testing.F, globs ...string) {
	n := 0
	for _, g := range globs {
		files, _ := filepath.Glob(filepath.Join("testdata", "fixtures", g))
		for _, p := range files {
			if st, err := os.Stat(p); err != nil || st.Size() > 1<<20 {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no fixtures match %v", globs)
	}
}

// exercise reads everything an opened file offers, so bugs past Open surface too.
func exercise(file *File) {
	_ = file.Globals()
	_ = file.UnsafeGlobals()
	for _, nt := range Tensors(file.Root) {
		// Stride-0 views may legitimately describe huge tensors over one element;
		// only materialise small ones.
		if n := nt.T.Numel(); n >= 0 && n <= 1<<16 {
			_, _ = nt.T.ContiguousBytes()
		}
	}
	_, _ = FindStateDict(file.Root)
	// Writing back what was read must not panic either.
	_ = SaveTo(discard{}, "fuzz", file.Root)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// FuzzOpen feeds arbitrary bytes to NewReader (any format), with and without
// weights-only mode.
func FuzzOpen(f *testing.F) {
	seedFuzz(f, "*/*.pt", "*/*.tar", "*/*.pkl", "*/*.pth")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []*Options{nil, {WeightsOnly: true}} {
			file, err := NewReader(bytes.NewReader(data), int64(len(data)), opts)
			if err != nil {
				if !knownError(err) {
					t.Fatalf("untyped error: %v", err)
				}
				continue
			}
			exercise(file)
		}
	})
}

// fuzzFormat runs one container reader directly on data.
func fuzzFormat(t *testing.T, data []byte, read func(*loader) error) {
	l := &loader{name: "fuzz", ra: bytes.NewReader(data), size: int64(len(data)), file: &File{}, userSafe: map[string]bool{}}
	if err := read(l); err != nil {
		if !knownError(err) {
			t.Fatalf("untyped error: %v", err)
		}
		return
	}
	exercise(l.file)
}

// FuzzLegacy fuzzes the legacy stream reader (magic, sys_info, pickles, raw storages).
func FuzzLegacy(f *testing.F) {
	seedFuzz(f, "legacy/*.pt", "proto/mixed_legacy_p4.pt")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFormat(t, data, (*loader).readLegacy)
	})
}

// FuzzTar fuzzes the ≤0.3 tar reader.
func FuzzTar(f *testing.F) {
	seedFuzz(f, "tar/*.tar")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFormat(t, data, (*loader).readTar)
	})
}

// FuzzZip fuzzes the zip reader, through ReadAt and in place as Open reads a
// mapping (local headers read on each storage's first use): every error,
// at open or at a storage's first use, must be a typed one.
func FuzzZip(f *testing.F) {
	seedFuzz(f, "zip/*.pt", "proto/mixed_p*.pt")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFormat(t, data, (*loader).readZip)
		l := &loader{name: "fuzz", ra: &mappedReader{bytes.NewReader(data), data}, mapped: data,
			size: int64(len(data)), file: &File{}, userSafe: map[string]bool{}}
		if err := l.readZip(); err != nil {
			if !knownError(err) {
				t.Fatalf("mapped: untyped error: %v", err)
			}
			return
		}
		for _, nt := range Tensors(l.file.Root) {
			if _, err := nt.T.Storage.Bytes(); err != nil && !knownError(err) {
				t.Fatalf("mapped: %s: untyped error: %v", nt.Path, err)
			}
		}
		exercise(l.file)
	})
}
