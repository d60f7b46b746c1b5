package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/modtree/modfile"
	"github.com/pthkit/pth/nn"
	"github.com/pthkit/pth/npy"
	"github.com/pthkit/pth/tensor"
)

type options struct {
	Weights, Input string
	JSON           bool
	Classes        int
}

// loadWeights reads a state_dict from a PyTorch file (state_dict, checkpoint,
// entire-model pickle or TorchScript archive), or from an .npz.
func loadWeights(path string) (*pth.StateDict, error) {
	if !strings.HasSuffix(path, ".npz") {
		return modfile.LoadStateDict(path)
	}
	arrays, err := npy.ReadNPZFile(path)
	if err != nil {
		return nil, err
	}
	sd := &pth.StateDict{Tensors: map[string]*tensor.Tensor{}}
	for _, a := range arrays {
		sd.Keys = append(sd.Keys, a.Name)
		sd.Tensors[a.Name] = a.Tensor
	}
	return sd, nil
}

// patternInput is a deterministic 1×3×224×224 image.
func patternInput() *nn.Tensor {
	x := nn.Zeros(1, 3, 224, 224)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i) * 0.001))
	}
	return x
}

func run(opt options, stdout io.Writer) error {
	if opt.Classes == 0 {
		opt.Classes = 1000
	}
	model := NewResNet18(opt.Classes)
	if opt.Weights != "" {
		sd, err := loadWeights(opt.Weights)
		if err != nil {
			return err
		}
		if _, _, err := model.LoadStateDict(sd, true); err != nil {
			return err
		}
	}
	model.Eval()
	x := patternInput()
	if opt.Input != "" {
		t, err := npy.ReadFile(opt.Input)
		if err != nil {
			return err
		}
		if x, err = nn.ToFloat32(t); err != nil {
			return err
		}
		if x.Dim() != 4 || x.Shape[1] != 3 {
			return fmt.Errorf("%s: input shape %v, want [N, 3, H, W]", opt.Input, x.Shape)
		}
	}
	y := model.Forward(x)
	if opt.JSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"output": y.Rows()})
	}
	for n, row := range y.Rows() {
		idx := make([]int, len(row))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
		fmt.Fprintf(stdout, "image %d, top 5 classes:", n)
		for _, i := range idx[:min(5, len(idx))] {
			fmt.Fprintf(stdout, " %d (%.4f)", i, row[i])
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

func main() {
	var opt options
	flag.StringVar(&opt.Weights, "weights", "", "torchvision resnet18 state_dict, checkpoint or model file (or .npz) at `PATH`")
	flag.StringVar(&opt.Input, "input", "", "float32 NCHW input `FILE.npy` (default: a fixed 1×3×224×224 pattern)")
	flag.BoolVar(&opt.JSON, "json", false, `print {"output": [[…]]} logits`)
	flag.IntVar(&opt.Classes, "classes", 1000, "number of classes of the fc layer")
	flag.Parse()
	if err := run(opt, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "resnet:", err)
		os.Exit(1)
	}
}
