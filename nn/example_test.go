package nn_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/nn"
)

// Net is the seed's SimpleNet: three registered children and a Forward.
type Net struct {
	nn.ModuleBase
	FC1, FC2 *nn.Linear
	ReLU     *nn.ReLU
}

func NewNet(in, hidden, out int) *Net {
	m := &Net{}
	m.FC1 = nn.Add(m, "fc1", nn.NewLinear(in, hidden, true))
	m.ReLU = nn.Add(m, "relu", nn.NewReLU())
	m.FC2 = nn.Add(m, "fc2", nn.NewLinear(hidden, out, true))
	return m
}

func (m *Net) Forward(x *nn.Tensor) *nn.Tensor {
	return m.FC2.Forward(m.ReLU.Forward(m.FC1.Forward(x)))
}

// Define a model, save its state_dict, load it into a fresh instance, switch to
// evaluation mode and run it — torch.save(model.state_dict(), path);
// model.load_state_dict(torch.load(path)); model.eval(); model(x).
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "simple_net_state_dict.pth")

	model := NewNet(10, 5, 2)
	if err := pth.SaveStateDict(path, model.StateDict()); err != nil {
		fmt.Println(err)
		return
	}

	sd, err := pth.LoadStateDict(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	loaded := NewNet(10, 5, 2)
	if _, _, err := loaded.LoadStateDict(sd, true); err != nil {
		fmt.Println(err)
		return
	}
	loaded.Eval()

	x := nn.Full(0.5, 1, 10)
	same := fmt.Sprint(loaded.Forward(x).Rows()) == fmt.Sprint(model.Forward(x).Rows())
	fmt.Println(sd.Keys)
	fmt.Println("same output:", same)
	// Output:
	// [fc1.weight fc1.bias fc2.weight fc2.bias]
	// same output: true
}

// Loading a state_dict made for another architecture lists every problem, as PyTorch does.
func ExampleModuleBase_LoadStateDict() {
	sd := NewNet(10, 5, 2).StateDict()
	wide := nn.NewSequential(nn.NewLinear(10, 6, true))
	_, _, err := wide.LoadStateDict(sd, true)
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Println(strings.TrimRight(line, " ")) // PyTorch ends each key list with ". "
	}
	missing, unexpected, _ := nn.NewSequential(nn.NewLinear(10, 5, true)).LoadStateDict(sd, false)
	fmt.Println(missing, unexpected)
	// Output:
	// Error(s) in loading state_dict for Sequential:
	// 	Missing key(s) in state_dict: "0.weight", "0.bias".
	// 	Unexpected key(s) in state_dict: "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias".
	// [0.weight 0.bias] [fc1.weight fc1.bias fc2.weight fc2.bias]
}

// StateDict follows PyTorch's naming, order and _metadata versions.
func ExampleModuleBase_StateDict() {
	m := nn.NewSequential(nn.NewConv2d(3, 8, [2]int{3, 3}, nn.Conv2dOptions{NoBias: true}), nn.NewBatchNorm2d(8, nn.BatchNormOptions{}))
	sd := m.StateDict()
	fmt.Println(sd.Keys)
	for _, e := range sd.Metadata.Entries {
		v, _ := e.Value.(interface{ Get(any) (any, bool) }).Get("version")
		fmt.Printf("%q: version %v\n", e.Key, v)
	}
	// Output:
	// [0.weight 1.weight 1.bias 1.running_mean 1.running_var 1.num_batches_tracked]
	// "": version 1
	// "0": version 1
	// "1": version 2
}
