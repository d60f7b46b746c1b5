package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/modtree/modfile"
	"github.com/pthkit/pth/nn"
	"github.com/pthkit/pth/npy"
	"github.com/pthkit/pth/torchscript"
)

// SimpleNet is the seed's two-layer perceptron.
type SimpleNet struct {
	nn.ModuleBase
	FC1  *nn.Linear
	ReLU *nn.ReLU
	FC2  *nn.Linear
}

// NewSimpleNet builds SimpleNet(in, hidden, out) with freshly initialised weights.
func NewSimpleNet(in, hidden, out int) *SimpleNet {
	m := &SimpleNet{}
	m.FC1 = nn.Add(m, "fc1", nn.NewLinear(in, hidden, true))
	m.ReLU = nn.Add(m, "relu", nn.NewReLU())
	m.FC2 = nn.Add(m, "fc2", nn.NewLinear(hidden, out, true))
	return m
}

// Forward is fc2(relu(fc1(x))).
func (m *SimpleNet) Forward(x *nn.Tensor) *nn.Tensor {
	return m.FC2.Forward(m.ReLU.Forward(m.FC1.Forward(x)))
}

// ScriptForward is forward in TorchScript, so torchscript.Save can write the whole
// model as an archive torch.jit.load runs without this program's classes.
func (m *SimpleNet) ScriptForward() string {
	return "return self.fc2.forward(self.relu.forward(self.fc1.forward(x)))"
}

// options are the command's flags.
type options struct {
	Save, Load, Input, SaveScript string
	JSON                          bool
	Seed                          uint64
}

const defaultPath = "simple_net_state_dict.pth"

// fixedInput is the walk-through's input: one row of ten values from -1 to 1.
func fixedInput() *nn.Tensor {
	x := nn.Zeros(1, 10)
	for i := range x.Data {
		x.Data[i] = float32(i-5) / 5
	}
	return x
}

func run(opt options, stdout io.Writer) error {
	path := opt.Load
	if path == "" {
		// Define and save.
		nn.ManualSeed(opt.Seed)
		model := NewSimpleNet(10, 5, 2)
		path = opt.Save
		if path == "" {
			path = defaultPath
		}
		if err := pth.SaveStateDict(path, model.StateDict()); err != nil {
			return err
		}
		if !opt.JSON {
			fmt.Fprintf(stdout, "saved the state_dict of SimpleNet(10, 5, 2) to %s\n", path)
		}
	}
	// Load into a fresh instance.
	sd, err := modfile.LoadStateDict(path) // a state_dict, checkpoint, whole model or TorchScript
	if err != nil {
		return err
	}
	loaded := NewSimpleNet(10, 5, 2)
	if _, _, err := loaded.LoadStateDict(sd, true); err != nil {
		return err
	}
	loaded.Eval()
	if opt.SaveScript != "" {
		if err := torchscript.Save(opt.SaveScript, loaded); err != nil {
			return err
		}
		if !opt.JSON {
			fmt.Fprintf(stdout, "wrote the model as TorchScript to %s\n", opt.SaveScript)
		}
	}

	x := fixedInput()
	if opt.Input != "" {
		t, err := npy.ReadFile(opt.Input)
		if err != nil {
			return err
		}
		if x, err = nn.ToFloat32(t); err != nil {
			return err
		}
		if x.Dim() != 2 || x.Shape[1] != 10 {
			return fmt.Errorf("%s: input shape %v, want [N, 10]", opt.Input, x.Shape)
		}
	}
	y := loaded.Forward(x)
	if opt.JSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"output": y.Rows()})
	}
	fmt.Fprintf(stdout, "loaded it into a fresh SimpleNet, eval mode\ninput:  %v\noutput: %v\n", x.Rows(), y.Rows())
	return nil
}

func main() {
	var opt options
	flag.StringVar(&opt.Save, "save", "", "save the state_dict of a seeded SimpleNet(10, 5, 2) to `PATH` (default "+defaultPath+")")
	flag.StringVar(&opt.Load, "load", "", "load a state_dict from `PATH` (any format pth reads) instead of saving one")
	flag.StringVar(&opt.Input, "input", "", "run the float32 input in `FILE.npy` (shape [N, 10])")
	flag.StringVar(&opt.SaveScript, "save-script", "", "also write the loaded model as TorchScript to `PATH` (torch.jit.load runs it with no Python class)")
	flag.BoolVar(&opt.JSON, "json", false, `print {"output": [[…]…]}`)
	flag.Uint64Var(&opt.Seed, "seed", 0, "seed for the model's initial weights")
	flag.Parse()
	if err := run(opt, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "simplenet:", err)
		os.Exit(1)
	}
}
