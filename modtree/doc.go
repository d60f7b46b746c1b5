// Package modtree recovers inert nn.Module trees from the values PyTorch pickles,
// without any Python class code and without executing anything.
//
// Two sources produce module trees:
//
//   - entire-model pickles written by torch.save(model) (zip or legacy stream), where
//     every module is a NEWOBJ of its class (kept as an opaque pickle.Global) whose BUILD
//     state is the module's __dict__: training, _parameters, _buffers,
//     _non_persistent_buffers_set, _modules (OrderedDicts in PyTorch 1.x, plain dicts in
//     2.x) and the hyper-parameters;
//   - TorchScript archives, whose data.pkl holds __torch__.… objects; package torchscript
//     builds the same Node tree from them, using the class code to tell parameters from
//     buffers.
//
// A Node tree gives the state_dict PyTorch's model.state_dict() would give (same keys,
// same order, same tensors, and the _metadata versions), a JSON form
// ({"name","class","attrs","parameters","buffers","children"}) and a text tree for
// `pth inspect --tree`.
package modtree
