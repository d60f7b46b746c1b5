package torchscript_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pthkit/pth/nn"
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
	defer a.Close()
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

// Save a Go model as TorchScript (torch.jit.load runs it with no Python class) and
// read it back.
func ExampleSave() {
	model := nn.NewSequential(
		nn.NewLinear(10, 5, true),
		nn.NewReLU(),
		nn.NewLinear(5, 2, true),
	)
	model.Eval()
	path := filepath.Join(os.TempDir(), "pth_example_seq.pt")
	defer os.Remove(path)
	if err := torchscript.Save(path, model); err != nil {
		fmt.Println(err)
		return
	}
	a, err := torchscript.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	a.Module.Fprint(os.Stdout)
	// Output:
	// __torch__.torch.nn.modules.container.Sequential [eval]
	//   (0): __torch__.torch.nn.modules.linear.Linear(in_features=10, out_features=5) [eval]
	//     weight: float32[5, 10]
	//     bias: float32[5]
	//   (1): __torch__.torch.nn.modules.activation.ReLU [eval]
	//   (2): __torch__.torch.nn.modules.linear.___torch_mangle_0.Linear(in_features=5, out_features=2) [eval]
	//     weight: float32[2, 5]
	//     bias: float32[2]
}
