package zipfile

import (
	"bytes"
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
