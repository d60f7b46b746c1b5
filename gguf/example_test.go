package gguf_test

import (
	"bytes"
	"fmt"

	"github.com/pthkit/pth/gguf"
)

func Example() {
	var buf bytes.Buffer
	kvs := []gguf.KV{{Key: "general.architecture", Type: gguf.TypeString, Value: "pth"}}
	// A PyTorch Linear weight of shape (out=2, in=3) is stored with ne = [3, 2].
	specs := []gguf.TensorSpec{{Name: "fc.weight", Type: gguf.F32, Shape: []int64{2, 3}}}
	w, err := gguf.NewWriter(&buf, kvs, specs)
	if err != nil {
		panic(err)
	}
	if err := w.Write("fc.weight", make([]byte, 24)); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}

	f, err := gguf.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(err)
	}
	ti, _ := f.Lookup("fc.weight")
	fmt.Println(f.Architecture(), ti.Type, ti.Dims, ti.Shape(), ti.NBytes)
	// Output: pth F32 [3 2] [2 3] 24
}
