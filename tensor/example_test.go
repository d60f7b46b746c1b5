package tensor_test

import (
	"fmt"

	"github.com/pthkit/pth/tensor"
)

func Example() {
	// A 2×3 float32 tensor and its transpose, a view of the same storage.
	x := tensor.FromFloat32([]int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	xt := &tensor.Tensor{Storage: x.Storage, DType: x.DType, Shape: []int64{3, 2}, Strides: []int64{1, 3}}
	if err := xt.Validate(); err != nil {
		panic(err)
	}
	v, _ := xt.Float32s() // gathers, since the view is not contiguous
	fmt.Println(xt, xt.IsContiguous(), v, tensor.SameStorage(x, xt))

	h, _ := x.Convert(tensor.Float16)
	b, _ := h.ContiguousBytes()
	fmt.Printf("%s % x\n", h, b[:4])

	d, _ := tensor.ParseStorageClass("torch.BFloat16Storage")
	fmt.Println(d, d.Size(), d.SafetensorsName())
	// Output:
	// float32[3 2] false [1 4 2 5 3 6] true
	// float16[2 3] 00 3c 00 40
	// bfloat16 2 BF16
}
