package checkpoint_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pthkit/pth/checkpoint"
	"github.com/pthkit/pth/tensor"
)

// Open a sharded safetensors model through its directory and read a tensor.
func ExampleOpen() {
	c, err := checkpoint.Open("../testdata/safetensors/sharded")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Println(c.Format(), c.Names())
	t, err := c.Tensor("2.bias")
	if err != nil {
		panic(err)
	}
	fmt.Println(t.DType, t.Shape)
	// Output:
	// sharded [0.bias 0.weight 2.bias 2.weight]
	// float32 [2]
}

// Convert a PyTorch state_dict to bfloat16 safetensors and compare the two.
func ExampleConvert() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "model.safetensors")
	r, err := checkpoint.Convert("../testdata/safetensors/sharded/model.pt", out, checkpoint.Options{DType: tensor.BFloat16})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Tensors, "tensors,", r.Bytes, "bytes; dropped:", r.Dropped)
	d, err := checkpoint.DiffFiles("../testdata/safetensors/sharded/model.pt", out)
	if err != nil {
		panic(err)
	}
	for _, td := range d.Different {
		fmt.Printf("%s: %s vs %s, max abs %.4f\n", td.Name, td.DTypeA, td.DTypeB, td.MaxAbs)
	}
	// Output:
	// 4 tensors, 52 bytes; dropped: [metadata _metadata (per-module versions of the state_dict)]
	// 0.weight: float32 vs bfloat16, max abs 0.0069
	// 0.bias: float32 vs bfloat16, max abs 0.0012
	// 2.weight: float32 vs bfloat16, max abs 0.0034
	// 2.bias: float32 vs bfloat16, max abs 0.0018
}
