package npy_test

import (
	"bytes"
	"fmt"

	"github.com/pthkit/pth/npy"
	"github.com/pthkit/pth/tensor"
)

// Write a tensor as numpy.save would and read it back.
func Example() {
	t := tensor.FromFloat32([]int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	var buf bytes.Buffer
	if err := npy.Write(&buf, t); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", buf.Bytes()[10:60])
	back, err := npy.ReadBytes(buf.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := back.Float32s()
	fmt.Println(back.DType, back.Shape, v)
	// Output:
	// "{'descr': '<f4', 'fortran_order': False, 'shape': "
	// float32 [2 3] [1 2 3 4 5 6]
}
