package modfile_test

import (
	"fmt"

	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/modtree/modfile"
)

// Open a TorchScript archive (torch.jit.script of a small network) without running its
// code, and list its modules and state_dict.
func ExampleOpen() {
	m, err := modfile.Open("../../testdata/models/simplenet_script.pt")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	fmt.Println(m.Kind)
	m.Tree.Walk(func(path string, n *modtree.Node) bool {
		fmt.Printf("%q %s\n", path, n.Class)
		return true
	})
	sd := m.Tree.StateDict()
	for _, k := range sd.Keys {
		fmt.Println(k, sd.Tensors[k].DType, sd.Tensors[k].Shape)
	}
	// Output:
	// TorchScript archive
	// "" __torch__.SimpleNet
	// "fc1" __torch__.torch.nn.modules.linear.Linear
	// "relu" __torch__.torch.nn.modules.activation.ReLU
	// "fc2" __torch__.torch.nn.modules.linear.___torch_mangle_0.Linear
	// fc1.weight float32 [5 10]
	// fc1.bias float32 [5]
	// fc2.weight float32 [2 5]
	// fc2.bias float32 [2]
}

// Extract the state_dict of a torch.save(model) file; the tensors stay usable after
// the file is closed.
func ExampleStateDict() {
	sd, kind, err := modfile.StateDict("../../testdata/models/convbn_legacy.pt")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(kind)
	for _, k := range sd.Keys {
		fmt.Println(k, sd.Tensors[k].DType, sd.Tensors[k].Shape)
	}
	// Output:
	// entire-model pickle
	// offset float32 [3]
	// features.0.weight float32 [4 3 3 3]
	// features.1.weight float32 [4]
	// features.1.bias float32 [4]
	// features.1.running_mean float32 [4]
	// features.1.running_var float32 [4]
	// features.1.num_batches_tracked int64 []
	// head.weight float32 [3 4]
	// head.bias float32 [3]
}
