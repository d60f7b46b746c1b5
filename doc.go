// Package pth reads and writes PyTorch's files exactly, in pure Go, without ever
// running code found in a file.
//
// It understands the containers torch.save has produced over the years — the zip
// format (1.6 and later), the legacy pickle stream (before 1.6, including the old
// view_metadata persistent ids), the tar format (0.3 and earlier) and plain
// pickles — and recognises TorchScript archives. The format is detected from the
// first bytes, never from the file name (DetectFormat).
//
// # Reading
//
// Open (a path, memory-mapped) and NewReader (an io.ReaderAt) decode the file's
// pickles into inert values (package pickle) and interpret the calls PyTorch
// would have made through a table of rebuild functions: tensors
// (_rebuild_tensor, _v2, _v3), Parameters, quantized tensors, sparse tensors,
// meta tensors, tensor subclasses, OrderedDicts with their _metadata, Counter,
// torch.Size, torch.device, dtypes, bytes, sets, complex numbers, bytearrays and
// numpy arrays, scalars and dtypes. Everything else stays an inert
// *pickle.Object whose fields can be read. Tensor bytes are never read while
// opening: storages are views of the mapping, or lazy; every tensor is checked
// against its storage (shape, strides, offset, record size) and errors name the
// file, record, offset and key. A mapped zip file is opened as PyTorch's reader
// opens it, by its central directory and data.pkl: each storage's local header,
// which says where its data starts, is read on the storage's first use (a
// state_dict of small tensors has headers on every page of the file), and a
// storage first used after Close reports ErrClosed. Walk and Tensors list what a file holds;
// FindStateDict and LoadStateDict find its state_dict. File.ReadAhead asks the
// kernel for a mapped storage's bytes in one request just before they are read.
// Each pickle is read in one pass: the decoder reports globals and refuses
// weights-only's forbidden opcodes as it goes.
//
// Options.WeightsOnly refuses what torch.load(weights_only=True) refuses in
// current PyTorch (allow-list from internal/safeglobals, opcode set, NEWOBJ/BUILD/
// SETITEM targets, storage-only persistent ids, TorchScript and tar files), with
// PyTorch's messages. PyTorch 1.13's list was shorter (it refused, for example,
// BINFLOAT and _rebuild_qtensor); File.UnsafeGlobals reports globals against the
// current list.
//
// # Writing
//
// Save, SaveTo, SaveStateDict and Convert run the pipeline backwards: values are
// lowered to the calls PyTorch's __reduce_ex__ methods produce, encoded as
// protocol 2 with CPython's opcode choices, and written in torch.save's zip
// layout (internal/zipfile) atomically. Storages are written once, in pickling
// order, so shared storages stay shared. A "byteorder" record ("little") is
// written as PyTorch ≥ 2.1 does; PyTorch 1.13 ignores it. Round trips are
// checked against real PyTorch by the tests (testdata/gen/roundtrip_check.py).
package pth
