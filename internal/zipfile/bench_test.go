package zipfile

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkOpen20000 opens an in-memory archive of 20,000 small records (the
// shape of a 20,000-tensor state_dict): directory and local headers only.
func BenchmarkOpen20000(b *testing.B) {
	var buf bytes.Buffer
	zw := NewWriter(&buf, "archive")
	for i := range 20000 {
		zw.WriteRecord("data/"+strconv.Itoa(i), make([]byte, 16))
	}
	zw.Close()
	data := buf.Bytes()
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewReader(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenManyPT opens testdata/fixtures/large/many.pt, torch.save's
// 20,000-tensor state_dict (20,002 records), from memory: through ReadAt
// (the directory copied), as a Mapper, in place, and lazily (NewLazyReader,
// no local header read), as pth.Open reads its mapping. None builds the
// Records list. Regenerate the file with
// /usr/bin/python3 testdata/gen/bench_gen.py testdata/fixtures/large.
func BenchmarkOpenManyPT(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", "large", "many.pt"))
	if err != nil {
		b.Skip(err)
	}
	for _, how := range []struct {
		name string
		r    io.ReaderAt
		lazy bool
	}{{"ReadAt", bytes.NewReader(data), false}, {"Mapper", mapped{bytes.NewReader(data), data}, false}, {"Lazy", mapped{bytes.NewReader(data), data}, true}} {
		b.Run(how.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				z, err := newReader(how.r, int64(len(data)), DefaultLimits, how.lazy)
				if err != nil {
					b.Fatal(err)
				}
				if z.Len() < 20000 {
					b.Fatalf("%d records", z.Len())
				}
			}
		})
	}
}
