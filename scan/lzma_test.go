package scan

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLZMA2Golden decodes raw LZMA2 streams written by CPython's lzma module
// (liblzma) with different lc/lp/pb, literals, matches, repeats and stored chunks,
// and compares with the original bytes.
func TestLZMA2Golden(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "scan")
	want, err := os.ReadFile(filepath.Join(dir, "lzma2_golden.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lzma2_default.lzma2", "lzma2_lc0_lp2_pb0.lzma2"} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		fs := newFileScan((&Options{}).withDefaults(int64(len(raw))), int64(len(raw)))
		got, err := fs.lzma2(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes decoded, want %d (first difference at %d)", name, len(got), len(want), firstDiff(got, want))
		}
		// Every truncation fails with an error, never a panic or a short success.
		for _, cut := range []int{1, 6, len(raw) / 2, len(raw) - 1} {
			fs := newFileScan((&Options{}).withDefaults(int64(cut)), int64(cut))
			if _, err := fs.lzma2(bytes.NewReader(raw[:cut])); !errors.Is(err, errLZMA) {
				t.Errorf("%s cut at %d: %v", name, cut, err)
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// FuzzLZMA2: the decoder never panics and stays within its budget.
func FuzzLZMA2(f *testing.F) {
	dir := filepath.Join(repoRoot(f), "testdata", "scan")
	for _, name := range []string{"lzma2_default.lzma2", "lzma2_lc0_lp2_pb0.lzma2"} {
		if raw, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(raw[:min(len(raw), 4096)])
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fs := newFileScan((&Options{MaxBuffered: 1 << 20}).withDefaults(0), 0)
		out, err := fs.lzma2(bytes.NewReader(raw))
		if err == nil && int64(len(out)) > fs.opts.MaxBuffered {
			t.Fatalf("%d bytes out of a %d budget", len(out), fs.opts.MaxBuffered)
		}
	})
}
