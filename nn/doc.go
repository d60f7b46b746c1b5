// Package nn gives Go programs PyTorch-style neural-network modules whose
// state_dict semantics are PyTorch's own: parameters, buffers (persistent and
// non-persistent) and child modules are registered under names, StateDict
// yields exactly the keys, order and _metadata versions torch.nn.Module.state_dict
// does, and LoadStateDict reports missing, unexpected and mis-sized keys with
// load_state_dict's messages.
//
// Each built-in module (Linear, Conv2d, BatchNorm2d, LayerNorm, Embedding, the
// activations, pools and containers) has a float32 CPU forward pass that matches
// PyTorch's to within float rounding. Matrix products use gonum's pure-Go BLAS.
//
// A custom module embeds ModuleBase and registers its children with Add:
//
//	type SimpleNet struct {
//		nn.ModuleBase
//		FC1, FC2 *nn.Linear
//		ReLU     *nn.ReLU
//	}
//
//	func NewSimpleNet(in, hidden, out int) *SimpleNet {
//		m := &SimpleNet{}
//		m.FC1 = nn.Add(m, "fc1", nn.NewLinear(in, hidden, true))
//		m.ReLU = nn.Add(m, "relu", nn.NewReLU())
//		m.FC2 = nn.Add(m, "fc2", nn.NewLinear(hidden, out, true))
//		return m
//	}
//
//	func (m *SimpleNet) Forward(x *nn.Tensor) *nn.Tensor {
//		return m.FC2.Forward(m.ReLU.Forward(m.FC1.Forward(x)))
//	}
//
// Tensors inside modules are the small float32 working type Tensor; the
// conversion to and from tensor.Tensor (any dtype, as PyTorch's copy_ casts)
// happens at the state_dict boundary.
package nn
