package torchscript_test

import (
	"fmt"
	"os"

	"github.com/pthkit/pth/torchscript"
)

// Read a scripted SimpleNet without its Python class and print its module tree and
// state_dict keys.
func ExampleOpen() {
	a, err := torchscript.Open("../testdata/models/simplenet_script.pt")
	if err != nil {
		fmt.Println(err)
		return
	}
	a.Module.Fprint(os.Stdout)
	fmt.Println(a.Module.StateDict().Keys)
	// Output:
	// __torch__.SimpleNet
	//   (fc1): __torch__.torch.nn.modules.linear.Linear(in_features=10, out_features=5)
	//     weight: float32[5, 10]
	//     bias: float32[5]
	//   (relu): __torch__.torch.nn.modules.activation.ReLU(inplace=False)
	//   (fc2): __torch__.torch.nn.modules.linear.___torch_mangle_0.Linear(in_features=5, out_features=2)
	//     weight: float32[2, 5]
	//     bias: float32[2]
	// [fc1.weight fc1.bias fc2.weight fc2.bias]
}
