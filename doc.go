// Package pth reads and writes PyTorch's files exactly, in pure Go, without ever
// running code found in a file.
//
// It understands the containers torch.save has produced over the years — the zip
// format (1.6 and later), the legacy pickle stream (before 1.6), the tar format
// (0.3 and earlier) and plain pickles — and recognises TorchScript archives. Opening
// a file decodes its pickle into inert values (package pickle) and interprets the
// calls PyTorch would have made (rebuilding tensors, parameters, OrderedDicts,
// numpy arrays, …) through a table of rebuild functions; everything it does not
// know stays an inert *pickle.Object whose fields can be read. Tensor bytes are
// never read while opening: storages are views of the memory-mapped file, or lazy.
//
// A weights-only mode refuses exactly what torch.load(weights_only=True) refuses,
// with the same kind of message.
//
// Writing runs the pipeline backwards: Save lowers a value tree to pickle values,
// encodes them as protocol 2 with CPython's choices, and writes torch.save's zip
// layout atomically.
//
// The pipeline (bytes → container → pickle machine → inert values →
// interpretation) is described in DESIGN.md.
package pth
