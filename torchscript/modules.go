package torchscript

import (
	"fmt"
	"strings"

	"github.com/pthkit/pth/nn"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// moduleSpec is what the writer needs to know to script one module.
type moduleSpec struct {
	name      string // class name ("Linear", "SimpleNet")
	qualifier string // "__torch__.torch.nn.modules.linear", "__torch__"
	params    []namedTensor
	buffers   []namedTensor
	consts    []Constant // hyper-parameters, written as Final class constants
	arg       string     // forward's argument name
	body      string     // forward's body, unindented
}

type namedTensor struct {
	name  string
	t     *nn.Tensor
	dtype tensor.DType
}

func ints(v ...int) pickle.Tuple {
	t := make(pickle.Tuple, len(v))
	for i, x := range v {
		t[i] = int64(x)
	}
	return t
}

func list2(v [2]int) string { return fmt.Sprintf("[%d, %d]", v[0], v[1]) }

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func builtin(name, file string) *moduleSpec {
	return &moduleSpec{name: name, qualifier: "__torch__.torch.nn.modules." + file, arg: "input"}
}

func (s *moduleSpec) konst(name, typ string, v pickle.Value) {
	s.consts = append(s.consts, Constant{Name: name, Type: typ, Value: v})
}

// describeModule gives the class, tensors and forward code of a module.
func describeModule(m nn.Module) (*moduleSpec, error) {
	var s *moduleSpec
	switch x := m.(type) {
	case *nn.Sequential:
		s = builtin("Sequential", "container")
		var b strings.Builder
		prev := "input"
		for i, c := range x.Children() {
			if _, ok := c.Module.(nn.Forwarder); !ok {
				return nil, fmt.Errorf("item %s of Sequential has no forward: %w", c.Name, ErrUnsupported)
			}
			fmt.Fprintf(&b, "_%d = getattr(self, %q)\n", i, c.Name)
			next := fmt.Sprintf("input%d", i)
			fmt.Fprintf(&b, "%s = (_%d).forward(%s, )\n", next, i, prev)
			prev = next
		}
		fmt.Fprintf(&b, "return %s\n", prev)
		s.body = b.String()
	case *nn.Linear:
		s = builtin("Linear", "linear")
		s.params = []namedTensor{{"weight", x.Weight, tensor.Float32}, {"bias", x.Bias, tensor.Float32}}
		s.konst("in_features", "int", int64(x.InFeatures))
		s.konst("out_features", "int", int64(x.OutFeatures))
		s.body = "return torch.linear(input, self.weight, self.bias)"
	case *nn.Conv2d:
		s = builtin("Conv2d", "conv")
		s.params = []namedTensor{{"weight", x.Weight, tensor.Float32}, {"bias", x.Bias, tensor.Float32}}
		s.konst("in_channels", "int", int64(x.InChannels))
		s.konst("out_channels", "int", int64(x.OutChannels))
		s.konst("kernel_size", "Tuple[int, int]", ints(x.KernelSize[:]...))
		s.konst("stride", "Tuple[int, int]", ints(x.Stride[:]...))
		s.konst("padding", "Tuple[int, int]", ints(x.Padding[:]...))
		s.konst("dilation", "Tuple[int, int]", ints(x.Dilation[:]...))
		s.konst("groups", "int", int64(x.Groups))
		s.body = fmt.Sprintf("return torch.conv2d(input, self.weight, self.bias, %s, %s, %s, %d)",
			list2(x.Stride), list2(x.Padding), list2(x.Dilation), x.Groups)
	case *nn.Conv1d:
		s = builtin("Conv1d", "conv")
		s.params = []namedTensor{{"weight", x.Weight, tensor.Float32}, {"bias", x.Bias, tensor.Float32}}
		s.konst("in_channels", "int", int64(x.InChannels))
		s.konst("out_channels", "int", int64(x.OutChannels))
		s.konst("kernel_size", "Tuple[int]", ints(x.KernelSize))
		s.konst("stride", "Tuple[int]", ints(x.Stride))
		s.konst("padding", "Tuple[int]", ints(x.Padding))
		s.konst("dilation", "Tuple[int]", ints(x.Dilation))
		s.konst("groups", "int", int64(x.Groups))
		s.body = fmt.Sprintf("return torch.conv1d(input, self.weight, self.bias, [%d], [%d], [%d], %d)",
			x.Stride, x.Padding, x.Dilation, x.Groups)
	case *nn.LayerNorm:
		s = builtin("LayerNorm", "normalization")
		s.params = []namedTensor{{"weight", x.Weight, tensor.Float32}, {"bias", x.Bias, tensor.Float32}}
		shape := make([]string, len(x.NormalizedShape))
		for i, d := range x.NormalizedShape {
			shape[i] = fmt.Sprint(d)
		}
		s.konst("normalized_shape", "Tuple[int]", ints(x.NormalizedShape...))
		s.konst("eps", "float", x.Eps)
		s.konst("elementwise_affine", "bool", x.Affine)
		s.body = fmt.Sprintf("return torch.layer_norm(input, [%s], self.weight, self.bias, %s, False)",
			strings.Join(shape, ", "), pyLiteral(x.Eps))
	case *nn.BatchNorm:
		s = builtin(x.Class(), "batchnorm")
		s.params = []namedTensor{{"weight", x.Weight, tensor.Float32}, {"bias", x.Bias, tensor.Float32}}
		s.buffers = []namedTensor{{"running_mean", x.RunningMean, tensor.Float32}, {"running_var", x.RunningVar, tensor.Float32},
			{"num_batches_tracked", x.NumBatchesTracked, tensor.Int64}}
		s.konst("num_features", "int", int64(x.NumFeatures))
		s.konst("eps", "float", x.Eps)
		s.konst("affine", "bool", x.Affine)
		s.konst("track_running_stats", "bool", x.TrackRunningStats)
		training := "self.training"
		if !x.TrackRunningStats {
			training = "True" // batch statistics always, as _BatchNorm.forward does
		}
		momentum := x.Momentum
		if x.CumulativeAverage {
			momentum = 0 // only matters in training, which the script does not reproduce for momentum=None
		}
		s.body = fmt.Sprintf("return torch.batch_norm(input, self.weight, self.bias, self.running_mean, self.running_var, %s, %s, %s, False)",
			training, pyLiteral(momentum), pyLiteral(x.Eps))
	case *nn.MaxPool2d:
		s = builtin("MaxPool2d", "pooling")
		s.konst("kernel_size", "Tuple[int, int]", ints(x.KernelSize[:]...))
		s.konst("stride", "Tuple[int, int]", ints(x.Stride[:]...))
		s.konst("padding", "Tuple[int, int]", ints(x.Padding[:]...))
		s.konst("dilation", "Tuple[int, int]", ints(x.Dilation[:]...))
		s.konst("ceil_mode", "bool", x.CeilMode)
		s.body = fmt.Sprintf("return torch.max_pool2d(input, %s, %s, %s, %s, %s)",
			list2(x.KernelSize), list2(x.Stride), list2(x.Padding), list2(x.Dilation), pyBool(x.CeilMode))
	case *nn.AvgPool2d:
		s = builtin("AvgPool2d", "pooling")
		s.konst("kernel_size", "Tuple[int, int]", ints(x.KernelSize[:]...))
		s.konst("stride", "Tuple[int, int]", ints(x.Stride[:]...))
		s.konst("padding", "Tuple[int, int]", ints(x.Padding[:]...))
		s.konst("ceil_mode", "bool", x.CeilMode)
		s.konst("count_include_pad", "bool", x.CountIncludePad)
		s.body = fmt.Sprintf("return torch.avg_pool2d(input, %s, %s, %s, %s, %s, None)",
			list2(x.KernelSize), list2(x.Stride), list2(x.Padding), pyBool(x.CeilMode), pyBool(x.CountIncludePad))
	case *nn.AdaptiveAvgPool2d:
		s = builtin("AdaptiveAvgPool2d", "pooling")
		s.konst("output_size", "Tuple[int, int]", ints(x.OutputSize[:]...))
		s.body = fmt.Sprintf("return torch.adaptive_avg_pool2d(input, %s)", list2(x.OutputSize))
	case *nn.Flatten:
		s = builtin("Flatten", "flatten")
		s.konst("start_dim", "int", int64(x.StartDim))
		s.konst("end_dim", "int", int64(x.EndDim))
		s.body = fmt.Sprintf("return torch.flatten(input, %d, %d)", x.StartDim, x.EndDim)
	case *nn.Identity:
		s = builtin("Identity", "linear")
		s.body = "return input"
	case *nn.Dropout:
		s = builtin("Dropout", "dropout")
		s.konst("p", "float", x.P)
		s.body = fmt.Sprintf("return torch.dropout(input, %s, self.training)", pyLiteral(x.P))
	case *nn.Softmax:
		s = builtin("Softmax", "activation")
		s.konst("dim", "int", int64(x.Dim))
		s.body = fmt.Sprintf("return torch.softmax(input, %d)", x.Dim)
	case *nn.ReLU:
		s = activation("ReLU", "torch.relu(input)")
	case *nn.ReLU6:
		s = activation("ReLU6", "torch.hardtanh(input, 0., 6.)")
	case *nn.Sigmoid:
		s = activation("Sigmoid", "torch.sigmoid(input)")
	case *nn.Tanh:
		s = activation("Tanh", "torch.tanh(input)")
	case *nn.SiLU:
		s = activation("SiLU", "torch.silu(input)")
	case *nn.Hardsigmoid:
		s = activation("Hardsigmoid", "torch.hardsigmoid(input)")
	case *nn.Hardswish:
		s = activation("Hardswish", "torch.hardswish(input)")
	case *nn.GELU:
		// The formula rather than gelu(approximate=…): some PyTorch builds (Debian's
		// 1.13) have no approximate argument.
		expr := "torch.gelu(input)"
		if x.Approximate == "tanh" {
			expr = "torch.mul(torch.mul(input, 0.5), torch.add(torch.tanh(torch.mul(torch.add(input, torch.mul(torch.pow(input, 3), 0.044715)), 0.79788456080286541)), 1.))"
		}
		s = activation("GELU", expr)
		s.konst("approximate", "str", x.Approximate)
	case Scripter:
		mb := x.Module()
		s = &moduleSpec{name: mb.Class(), qualifier: "__torch__", arg: "x", body: x.ScriptForward()}
		if !isIdent(s.name) {
			return nil, fmt.Errorf("class name %q is not an identifier: %w", s.name, ErrUnsupported)
		}
		for _, p := range mb.NamedParameters() {
			if !strings.Contains(p.Name, ".") {
				s.params = append(s.params, namedTensor{p.Name, p.Tensor, tensor.Float32})
			}
		}
		for _, b := range mb.NamedBuffers() {
			if !strings.Contains(b.Name, ".") {
				s.buffers = append(s.buffers, namedTensor{b.Name, b.Tensor, tensor.Float32})
			}
		}
	default:
		return nil, fmt.Errorf("no TorchScript for %T (custom modules implement torchscript.Scripter): %w", m, ErrUnsupported)
	}
	return s, nil
}

func activation(name, expr string) *moduleSpec {
	s := builtin(name, "activation")
	s.body = "return " + expr
	return s
}
