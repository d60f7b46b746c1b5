// Package torchscript reads and writes TorchScript archives (torch.jit.save files)
// without running any of their code.
//
// Reading gives the archive's records, the code text of every class (parsed only for
// its declarations: __parameters__, __buffers__, attribute slots, Final constants),
// constants.pkl with its tensors, and data.pkl turned into a modtree.Node tree whose
// state_dict equals the one torch.jit.load(path).state_dict() gives.
//
// Writing (Save) turns a Go model built from package nn's modules into an archive that
// torch.jit.load opens with no Python class definitions and runs.
package torchscript
