package zipfile

import (
	"bytes"
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
		if _, err := open(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenManyPT opens testdata/fixtures/large/many.pt, torch.save's
// 20,000-tensor state_dict (20,002 records), from memory, as pth.Open does
// over its mapping. Regenerate it with
// /usr/bin/python3 testdata/gen/bench_gen.py testdata/fixtures/large.
func BenchmarkOpenManyPT(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", "large", "many.pt"))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		z, err := open(data)
		if err != nil {
			b.Fatal(err)
		}
		if len(z.Records()) < 20000 {
			b.Fatalf("%d records", len(z.Records()))
		}
	}
}
