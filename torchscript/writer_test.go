package torchscript_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/pthkit/pth/modtree/modtreetest"
	"github.com/pthkit/pth/nn"
	"github.com/pthkit/pth/torchscript"
)

// SimpleNet is the seed's model as a custom Go module that scripts its forward pass.
type SimpleNet struct {
	nn.ModuleBase
	FC1  *nn.Linear
	ReLU *nn.ReLU
	FC2  *nn.Linear
}

func NewSimpleNet() *SimpleNet {
	m := &SimpleNet{}
	m.FC1 = nn.Add(m, "fc1", nn.NewLinear(10, 5, true))
	m.ReLU = nn.Add(m, "relu", nn.NewReLU())
	m.FC2 = nn.Add(m, "fc2", nn.NewLinear(5, 2, true))
	return m
}

func (m *SimpleNet) Forward(x *nn.Tensor) *nn.Tensor {
	return m.FC2.Forward(m.ReLU.Forward(m.FC1.Forward(x)))
}

func (m *SimpleNet) ScriptForward() string {
	return "return self.fc2.forward(self.relu.forward(self.fc1.forward(x)))"
}

func convNet() *nn.Sequential {
	bn := nn.NewBatchNorm2d(4, nn.BatchNormOptions{})
	for i := range bn.RunningMean.Data { // non-trivial running statistics
		bn.RunningMean.Data[i] = float32(i) * 0.1
		bn.RunningVar.Data[i] = 1 + float32(i)*0.2
		bn.Weight.Data[i] = 1 - float32(i)*0.1
		bn.Bias.Data[i] = float32(i) * 0.05
	}
	return nn.NewSequential(
		nn.NewConv2d(3, 4, [2]int{3, 3}, nn.Conv2dOptions{Padding: [2]int{1, 1}}),
		bn,
		nn.NewReLU(),
		nn.NewMaxPool2d([2]int{2, 2}, [2]int{}, [2]int{}, false),
		nn.NewConv2d(4, 4, [2]int{3, 3}, nn.Conv2dOptions{Stride: [2]int{2, 2}, NoBias: true}),
		nn.NewAvgPool2d([2]int{1, 1}, [2]int{}, [2]int{}, false, true),
		nn.NewAdaptiveAvgPool2d([2]int{1, 1}),
		nn.NewFlatten(),
		nn.NewLinear(4, 6, true),
		nn.NewTanh(),
		nn.NewLinear(6, 3, false),
		nn.NewSigmoid(),
	)
}

func randInput(shape ...int) *nn.Tensor {
	r := rand.New(rand.NewPCG(1, 2))
	t := nn.Zeros(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

type jsonArray struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type saveCase struct {
	name string
	m    nn.Forwarder
	x    *nn.Tensor
}

// saveCases are the Go models TestSaveRunsInPyTorch writes, freshly built.
func saveCases() []saveCase {
	return []saveCase{
		{"simplenet", NewSimpleNet(), randInput(3, 10)},
		{"convnet", convNet(), randInput(2, 3, 12, 12)},
		{"seq1d", nn.NewSequential(
			nn.NewConv1d(4, 6, 3, nn.Conv1dOptions{Padding: 1, Stride: 2}),
			nn.NewLayerNorm([]int{5}, 0, true),
			nn.NewGELU("tanh"),
			nn.NewBatchNorm1d(6, nn.BatchNormOptions{Eps: 1e-3}),
			nn.NewSiLU(),
			nn.NewFlatten(),
			nn.NewLinear(30, 8, true),
			nn.NewHardswish(),
			nn.NewDropout(0.3),
			nn.NewLinear(8, 4, true),
			nn.NewReLU6(),
			nn.NewHardsigmoid(),
			nn.NewSoftmax(-1),
		), randInput(3, 4, 10)},
	}
}

// TestSaveRunsInPyTorch writes Go models as TorchScript, has torch.jit.load run them
// with no Python class definitions, and compares PyTorch's outputs with Go's: under
// Debian's PyTorch 1.13 and, when PTH_TORCH2 is set, PyTorch 2.x
// (modtreetest.PyTorches).
func TestSaveRunsInPyTorch(t *testing.T) {
	for _, py := range modtreetest.PyTorches() {
		t.Run(py.Name, func(t *testing.T) {
			py.Require(t)
			dir := py.TempDir(t)
			for _, tc := range saveCases() {
				t.Run(tc.name, func(t *testing.T) { saveAndRun(t, py, dir, tc) })
			}
		})
	}
}

func saveAndRun(t *testing.T, py modtreetest.PyTorch, dir string, tc saveCase) {
	tc.m.Module().Eval()
	path := filepath.Join(dir, tc.name+".pt")
	if err := torchscript.Save(path, tc.m); err != nil {
		t.Fatal(err)
	}
	want := tc.m.Forward(tc.x)

	in := []jsonArray{{Shape: tc.x.Shape}}
	for _, v := range tc.x.Data {
		in[0].Data = append(in[0].Data, float64(v))
	}
	stdin, _ := json.Marshal(in)
	cmd := py.Command(modtreetest.Generator(), "run-script", path)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("torch.jit.load/run (%s) failed: %v\n%s", py.Name, err, stderr.Bytes())
	}
	var got jsonArray
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != len(want.Data) || len(got.Shape) != len(want.Shape) {
		t.Fatalf("PyTorch (%s) output shape %v, Go %v", py.Name, got.Shape, want.Shape)
	}
	for i := range got.Shape {
		if got.Shape[i] != want.Shape[i] {
			t.Fatalf("PyTorch (%s) output shape %v, Go %v", py.Name, got.Shape, want.Shape)
		}
	}
	for i := range got.Data {
		if d := math.Abs(got.Data[i] - float64(want.Data[i])); d > 1e-5 {
			t.Errorf("output %d: PyTorch (%s) %v, Go %v", i, py.Name, got.Data[i], want.Data[i])
		}
	}
}

// TestSaveReadBack reads a Go-written archive with Read: the module tree has the
// classes and hyper-parameters written and the state_dict equals the Go module's.
func TestSaveReadBack(t *testing.T) {
	m := convNet()
	m.Eval()
	var buf bytes.Buffer
	if err := torchscript.Write(&buf, "convnet", m); err != nil {
		t.Fatal(err)
	}
	a, err := torchscript.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want := m.StateDict()
	got := a.Module.StateDict()
	if len(got.Keys) != len(want.Keys) {
		t.Fatalf("keys %v, want %v", got.Keys, want.Keys)
	}
	for i, k := range want.Keys {
		if got.Keys[i] != k {
			t.Fatalf("key %d: %s, want %s", i, got.Keys[i], k)
		}
		gb, err := got.Tensors[k].ContiguousBytes()
		if err != nil {
			t.Fatal(err)
		}
		wb, _ := want.Tensors[k].ContiguousBytes()
		if !bytes.Equal(gb, wb) || got.Tensors[k].DType != want.Tensors[k].DType {
			t.Errorf("%s differs", k)
		}
	}
	if c := a.Module.Child("1"); c == nil || c.Class != "__torch__.torch.nn.modules.batchnorm.BatchNorm2d" || c.Training {
		t.Errorf("child 1: %+v", c)
	}
	if c := a.Module.Child("4"); c == nil || c.Class != "__torch__.torch.nn.modules.conv.___torch_mangle_0.Conv2d" {
		t.Errorf("second Conv2d: %+v", c)
	}
}
