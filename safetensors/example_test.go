package safetensors_test

import (
	"bytes"
	"fmt"

	"github.com/pthkit/pth/safetensors"
	"github.com/pthkit/pth/tensor"
)

func Example() {
	var buf bytes.Buffer
	specs := []safetensors.Spec{
		{Name: "bias", DType: tensor.Float32, Shape: []int64{2}},
		{Name: "steps", DType: tensor.Int64, Shape: []int64{}},
	}
	w, err := safetensors.NewWriter(&buf, specs, map[string]string{"format": "pt"})
	if err != nil {
		panic(err)
	}
	data := map[string][]byte{"bias": make([]byte, 8), "steps": {7, 0, 0, 0, 0, 0, 0, 0}}
	for _, s := range w.Order() { // I64 is written before F32, as the Python library does
		if err := w.Write(s.Name, data[s.Name]); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}

	f, err := safetensors.Parse(buf.Bytes())
	if err != nil {
		panic(err)
	}
	for _, name := range f.Names() {
		info, _ := f.Lookup(name)
		fmt.Println(name, info.Code, info.Shape, info.Begin, info.End)
	}
	// Output:
	// steps I64 [] 0 8
	// bias F32 [2] 8 16
}
