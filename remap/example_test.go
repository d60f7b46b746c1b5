package remap_test

import (
	"fmt"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/remap"
	"github.com/pthkit/pth/tensor"
)

// Strip DataParallel's "module." prefix, rename a layer and drop a buffer.
func Example() {
	sd := &pth.StateDict{Tensors: map[string]*tensor.Tensor{}}
	for _, k := range []string{"module.fc1.weight", "module.fc1.bias", "module.bn.num_batches_tracked"} {
		sd.Keys = append(sd.Keys, k)
		sd.Tensors[k] = tensor.FromFloat32(nil, []float32{0})
	}
	rename, _ := remap.ParseRename(`^fc1\.=encoder.`)
	drop, _ := remap.Drop(`num_batches_tracked$`)
	rules := remap.Rules{remap.StripPrefix("module."), rename, drop}
	out, _, err := rules.StateDict(sd)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Keys)
	// Output: [encoder.weight encoder.bias]
}
