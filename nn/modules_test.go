package nn

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pthkit/pth/tensor"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// SimpleNet is the seed's model, as the fixtures' PyTorch SimpleNet.
type SimpleNet struct {
	ModuleBase
	FC1, FC2 *Linear
	ReLU     *ReLU
}

func NewSimpleNet(in, hidden, out int) *SimpleNet {
	m := &SimpleNet{}
	m.FC1 = Add(m, "fc1", NewLinear(in, hidden, true))
	m.ReLU = Add(m, "relu", NewReLU())
	m.FC2 = Add(m, "fc2", NewLinear(hidden, out, true))
	return m
}

func (m *SimpleNet) Forward(x *Tensor) *Tensor {
	return m.FC2.Forward(m.ReLU.Forward(m.FC1.Forward(x)))
}

// SimpleNetWide is the mismatched target of the fixtures.
type SimpleNetWide struct {
	ModuleBase
}

func NewSimpleNetWide() *SimpleNetWide {
	m := &SimpleNetWide{}
	Add(m, "fc1", NewLinear(10, 6, true))
	Add(m, "relu", NewReLU())
	Add(m, "fc3", NewLinear(6, 2, true))
	return m
}

// ConvNet mirrors the fixtures' Conv/BatchNorm/Pool model.
type ConvNet struct {
	ModuleBase
	Conv1, Conv2, DW *Conv2d
	BN1, BN2         *BatchNorm
	ReLU             *ReLU
	Pool             *MaxPool2d
	AvgPool          *AdaptiveAvgPool2d
	Flatten          *Flatten
	Head             *Sequential
}

func NewConvNet() *ConvNet {
	m := &ConvNet{}
	m.Conv1 = Add(m, "conv1", NewConv2d(3, 8, [2]int{3, 3}, Conv2dOptions{Padding: [2]int{1, 1}}))
	m.BN1 = Add(m, "bn1", NewBatchNorm2d(8, BatchNormOptions{}))
	m.ReLU = Add(m, "relu", NewReLU())
	m.Pool = Add(m, "pool", NewMaxPool2d([2]int{2, 2}, [2]int{}, [2]int{}, false))
	m.Conv2 = Add(m, "conv2", NewConv2d(8, 16, [2]int{3, 3}, Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, NoBias: true}))
	m.BN2 = Add(m, "bn2", NewBatchNorm2d(16, BatchNormOptions{}))
	m.DW = Add(m, "dw", NewConv2d(16, 16, [2]int{3, 3}, Conv2dOptions{Padding: [2]int{1, 1}, Groups: 16}))
	m.AvgPool = Add(m, "avgpool", NewAdaptiveAvgPool2d([2]int{1, 1}))
	m.Flatten = Add(m, "flatten", NewFlatten())
	m.Head = Add(m, "head", NewSequential(NewLinear(16, 12, true), NewGELU("none"), NewDropout(0.5), NewLinear(12, 4, true)))
	return m
}

func (m *ConvNet) Forward(x *Tensor) *Tensor {
	x = m.Pool.Forward(m.ReLU.Forward(m.BN1.Forward(m.Conv1.Forward(x))))
	x = m.ReLU.Forward(m.BN2.Forward(m.Conv2.Forward(x)))
	x = m.Flatten.Forward(m.AvgPool.Forward(m.DW.Forward(x)))
	return m.Head.Forward(x)
}

func k2(a, b int) [2]int { return [2]int{a, b} }

// builders constructs the Go module for each fixture case of nn_fixtures.py.
var builders = map[string]func() Module{
	"linear":        func() Module { return NewLinear(7, 5, true) },
	"linear_nobias": func() Module { return NewLinear(7, 5, false) },
	"relu":          func() Module { return NewReLU() },
	"relu6":         func() Module { return NewReLU6() },
	"gelu":          func() Module { return NewGELU("none") },
	"gelu_tanh":     func() Module { return NewGELU("tanh") },
	"silu":          func() Module { return NewSiLU() },
	"sigmoid":       func() Module { return NewSigmoid() },
	"tanh":          func() Module { return NewTanh() },
	"hardswish":     func() Module { return NewHardswish() },
	"hardsigmoid":   func() Module { return NewHardsigmoid() },
	"softmax_dim1":  func() Module { return NewSoftmax(1) },
	"softmax_last":  func() Module { return NewSoftmax(-1) },
	"dropout":       func() Module { return NewDropout(0.3) },
	"identity":      func() Module { return NewIdentity() },
	"flatten":       func() Module { return NewFlatten() },
	"flatten_0_2":   func() Module { return NewFlattenDims(0, 2) },
	"sequential": func() Module {
		return NewSequential(NewLinear(4, 8, true), NewReLU(), NewLinear(8, 3, true))
	},
	"modulelist": func() Module {
		return NewModuleList(NewLinear(3, 3, true), NewReLU(), NewBatchNorm1d(3, BatchNormOptions{}))
	},
	"moduledict": func() Module {
		d := NewModuleDict()
		d.Set("b", NewLinear(2, 2, true))
		d.Set("a", NewLayerNorm([]int{2}, 0, true))
		d.Set("c", NewEmbedding(3, 2, -1))
		return d
	},
	"conv1d":        func() Module { return NewConv1d(4, 6, 3, Conv1dOptions{Stride: 2, Padding: 1}) },
	"conv1d_groups": func() Module { return NewConv1d(4, 8, 3, Conv1dOptions{Groups: 2, Dilation: 2}) },
	"conv2d":        func() Module { return NewConv2d(3, 8, k2(3, 3), Conv2dOptions{Padding: k2(1, 1)}) },
	"conv2d_strided": func() Module {
		return NewConv2d(3, 6, k2(3, 5), Conv2dOptions{Stride: k2(2, 1), Padding: k2(1, 2), Dilation: k2(1, 2), NoBias: true})
	},
	"conv2d_groups":     func() Module { return NewConv2d(4, 6, k2(3, 3), Conv2dOptions{Stride: k2(2, 2), Groups: 2}) },
	"conv2d_depthwise":  func() Module { return NewConv2d(6, 6, k2(3, 3), Conv2dOptions{Padding: k2(1, 1), Groups: 6}) },
	"conv2d_1x1":        func() Module { return NewConv2d(5, 7, k2(1, 1), Conv2dOptions{}) },
	"batchnorm2d":       func() Module { return NewBatchNorm2d(4, BatchNormOptions{}) },
	"batchnorm2d_cma":   func() Module { return NewBatchNorm2d(3, BatchNormOptions{CumulativeAverage: true}) },
	"batchnorm2d_plain": func() Module { return NewBatchNorm2d(3, BatchNormOptions{NoAffine: true, NoRunningStats: true}) },
	"batchnorm1d":       func() Module { return NewBatchNorm1d(5, BatchNormOptions{Eps: 1e-3, Momentum: 0.2}) },
	"batchnorm1d_3d":    func() Module { return NewBatchNorm1d(3, BatchNormOptions{}) },
	"layernorm":         func() Module { return NewLayerNorm([]int{5}, 0, true) },
	"layernorm_2d":      func() Module { return NewLayerNorm([]int{4, 5}, 1e-3, true) },
	"layernorm_noaffine": func() Module {
		return NewLayerNorm([]int{6}, 0, false)
	},
	"embedding":             func() Module { return NewEmbedding(10, 4, 2) },
	"maxpool2d":             func() Module { return NewMaxPool2d(k2(3, 3), k2(2, 2), k2(1, 1), false) },
	"maxpool2d_ceil":        func() Module { return NewMaxPool2d(k2(2, 2), k2(0, 0), k2(0, 0), true) },
	"avgpool2d":             func() Module { return NewAvgPool2d(k2(3, 3), k2(2, 2), k2(1, 1), false, true) },
	"avgpool2d_exclude_pad": func() Module { return NewAvgPool2d(k2(3, 3), k2(2, 2), k2(1, 1), true, false) },
	"adaptiveavgpool2d":     func() Module { return NewAdaptiveAvgPool2d(k2(3, 2)) },
	"adaptiveavgpool2d_1":   func() Module { return NewAdaptiveAvgPool2d(k2(1, 1)) },
	"simplenet":             func() Module { return NewSimpleNet(10, 5, 2) },
	"convnet":               func() Module { return NewConvNet() },
}

type fixtureCase struct {
	Name     string            `json:"name"`
	Class    string            `json:"class"`
	Keys     []string          `json:"keys"`
	Metadata orderedMeta       `json:"metadata"`
	DTypes   map[string]string `json:"dtypes"`
	Train    *bool             `json:"train"`
}

func loadCases(t *testing.T) []fixtureCase {
	b, err := os.ReadFile(filepath.Join(fixtureDir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []fixtureCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestStateDictLayout: for every module type, a fresh Go module's StateDict has
// PyTorch's keys in PyTorch's order, its _metadata prefixes and versions, and dtypes.
func TestStateDictLayout(t *testing.T) {
	cases := loadCases(t)
	if len(cases) != len(builders) {
		t.Fatalf("%d fixture cases, %d Go builders", len(cases), len(builders))
	}
	for _, c := range cases {
		build, ok := builders[c.Name]
		if !ok {
			t.Fatalf("no Go builder for case %s", c.Name)
		}
		m := build()
		if got := m.Module().Class(); got != c.Class {
			t.Errorf("%s: class %q, PyTorch %q", c.Name, got, c.Class)
		}
		sd := m.Module().StateDict()
		if !reflect.DeepEqual(append([]string{}, sd.Keys...), append([]string{}, c.Keys...)) {
			t.Errorf("%s: keys\n got %q\nwant %q", c.Name, sd.Keys, c.Keys)
		}
		mk, mv := metaOf(t, sd)
		if !reflect.DeepEqual(mk, c.Metadata.Keys) || !reflect.DeepEqual(mv, c.Metadata.Values) {
			t.Errorf("%s: _metadata\n got %v %v\nwant %v %v", c.Name, mk, mv, c.Metadata.Keys, c.Metadata.Values)
		}
		for k, dt := range c.DTypes {
			if got := "torch." + sd.Tensors[k].DType.String(); got != dt {
				t.Errorf("%s: %s has dtype %s, PyTorch %s", c.Name, k, got, dt)
			}
		}
	}
}

// TestForwardMatchesPyTorch loads each case's PyTorch state_dict strictly and
// compares the forward pass in eval mode, and in train mode (output and the
// updated running statistics) where it differs, within 1e-5.
func TestForwardMatchesPyTorch(t *testing.T) {
	testForward(t)
	if haveKernel { // and the gonum fallback used on CPUs without AVX2/FMA
		haveKernel = false
		defer func() { haveKernel = true }()
		t.Run("gonum", testForward)
	}
}

func testForward(t *testing.T) {
	for _, c := range loadCases(t) {
		if c.Train == nil {
			continue // containers without a forward
		}
		t.Run(c.Name, func(t *testing.T) {
			m := builders[c.Name]()
			mb := m.Module()
			sd := loadNPZStateDict(t, c.Name+".sd", c.Metadata.Values, c.Metadata.Keys)
			if _, _, err := mb.LoadStateDict(sd, true); err != nil {
				t.Fatal(err)
			}
			f := m.(Forwarder)
			x := readNpy(t, c.Name+".in.npy")
			mb.Eval()
			assertClose(t, "eval", f.Forward(x), readNpy(t, c.Name+".eval.npy"), 1e-5)
			if !*c.Train {
				return
			}
			mb.Train(true)
			for _, sub := range mb.NamedModules() { // as the generator: Dropout's mask is torch's RNG
				if _, ok := sub.Module.(*Dropout); ok {
					sub.Module.Module().Eval()
				}
			}
			assertClose(t, "train", f.Forward(x), readNpy(t, c.Name+".train.npy"), 1e-5)
			after := loadNPZStateDict(t, c.Name+".train_sd", nil, nil)
			got := mb.StateDict()
			for _, k := range after.Keys {
				want, err := ToFloat32(after.Tensors[k])
				if err != nil {
					t.Fatal(err)
				}
				g, err := ToFloat32(got.Tensors[k])
				if err != nil {
					t.Fatal(err)
				}
				assertClose(t, "after train: "+k, g, want, 1e-5)
			}
		})
	}
}

func TestTrainEvalAndDropout(t *testing.T) {
	m := NewConvNet()
	for _, nm := range m.NamedModules() {
		if !nm.Module.Module().Training() {
			t.Fatalf("%q not in training mode after construction", nm.Name)
		}
	}
	m.Eval()
	for _, nm := range m.NamedModules() {
		if nm.Module.Module().Training() {
			t.Fatalf("%q still training after Eval", nm.Name)
		}
	}
	d := NewDropout(0.5)
	x := Full(2, 1000)
	y := d.Forward(x)
	zeros := 0
	for _, v := range y.Data {
		switch v {
		case 0:
			zeros++
		case 4:
		default:
			t.Fatalf("dropout value %v, want 0 or x/(1-p) = 4", v)
		}
	}
	if zeros < 350 || zeros > 650 {
		t.Fatalf("dropout zeroed %d of 1000 at p=0.5", zeros)
	}
	d.Eval()
	if y := d.Forward(x); y != x {
		t.Fatal("dropout in eval mode is not the identity")
	}
}

func TestNamedIteration(t *testing.T) {
	m := NewConvNet()
	var names []string
	for _, p := range m.NamedParameters() {
		names = append(names, p.Name)
	}
	// PyTorch: [n for n, _ in ConvNet().named_parameters()]
	want := "conv1.weight conv1.bias bn1.weight bn1.bias conv2.weight bn2.weight bn2.bias dw.weight dw.bias head.0.weight head.0.bias head.3.weight head.3.bias"
	if strings.Join(names, " ") != want {
		t.Errorf("named_parameters:\n got %s\nwant %s", strings.Join(names, " "), want)
	}
	names = names[:0]
	for _, b := range m.NamedBuffers() {
		names = append(names, b.Name)
	}
	want = "bn1.running_mean bn1.running_var bn1.num_batches_tracked bn2.running_mean bn2.running_var bn2.num_batches_tracked"
	if strings.Join(names, " ") != want {
		t.Errorf("named_buffers:\n got %s\nwant %s", strings.Join(names, " "), want)
	}
	names = names[:0]
	for _, nm := range m.NamedModules() {
		names = append(names, nm.Name)
	}
	want = " conv1 bn1 relu pool conv2 bn2 dw avgpool flatten head head.0 head.1 head.2 head.3"
	if strings.Join(names, " ") != want {
		t.Errorf("named_modules:\n got %q\nwant %q", strings.Join(names, " "), want)
	}
	if m.NamedModules()[0].Module != Module(m) {
		t.Error("named_modules()[0] is not the model itself")
	}
}

func TestNonPersistentBufferAndSharedTensor(t *testing.T) {
	l := NewLinear(2, 2, true)
	l.RegisterBuffer("scratch", Zeros(2), false)
	l.RegisterBuffer("kept", Full(3, 2), true)
	sd := l.StateDict()
	if strings.Join(sd.Keys, ",") != "weight,bias,kept" {
		t.Fatalf("keys %v: a non-persistent buffer must not be saved", sd.Keys)
	}
	if len(l.NamedBuffers()) != 2 {
		t.Fatal("named_buffers must include non-persistent buffers")
	}
	// Tied weights: one tensor under two names shares one storage in the state_dict.
	s := NewSequential(NewLinear(2, 2, false), NewLinear(2, 2, false))
	s.At(1).(*Linear).Weight = s.At(0).(*Linear).Weight
	s.At(1).Module().RegisterParameter("weight", s.At(0).(*Linear).Weight)
	sd = s.StateDict()
	if sd.Tensors["0.weight"].Storage != sd.Tensors["1.weight"].Storage {
		t.Fatal("tied weights saved as two storages")
	}
	if len(s.NamedParameters()) != 1 {
		t.Fatal("named_parameters must list a tied weight once")
	}
}

// TestLoadCastsDType: a float64 state_dict (PyTorch's m.double().state_dict()) loads into
// the float32 model as copy_ casts it, and its output matches.
func TestLoadCastsDType(t *testing.T) {
	sd := loadNPZStateDict(t, "simplenet.sd", nil, nil)
	for k, v := range sd.Tensors {
		f64, err := v.Convert(tensor.Float64)
		if err != nil {
			t.Fatal(err)
		}
		sd.Tensors[k] = f64
	}
	m := NewSimpleNet(10, 5, 2)
	if _, _, err := m.LoadStateDict(sd, true); err != nil {
		t.Fatal(err)
	}
	m.Eval()
	assertClose(t, "float64 weights", m.Forward(readNpy(t, "simplenet.in.npy")), readNpy(t, "simplenet.eval.npy"), 1e-5)
}

func TestBadNamesPanic(t *testing.T) {
	for _, name := range []string{"", "a.b"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Add with name %q did not panic", name)
				}
			}()
			Add(NewSequential(), name, NewReLU())
		}()
	}
}
