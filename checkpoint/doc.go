// Package checkpoint opens, converts and compares model checkpoints of any
// format pth knows, one tensor at a time.
//
// Open takes a path and returns a Checkpoint whatever the format: a PyTorch
// file (zip, legacy stream, tar or bare pickle, read through package pth),
// a safetensors file (mapped, zero copy), a GGUF file, a sharded set given by
// its *.index.json (model.safetensors.index.json, pytorch_model.bin.index.json)
// or a directory holding one of those or a single checkpoint file. Tensors are
// fetched by name, lazily: shards are opened the first time one of their
// tensors is asked for.
//
// Convert writes a checkpoint in another format (chosen from the output's
// extension or Options.To), optionally casting floating-point tensors to
// float16, bfloat16 or float32 and splitting the output into shards with an
// index. It streams: one tensor is converted and written at a time, to a
// temporary file (or directory, for shards) renamed into place at the end.
// Tensors sharing storage are reported; they stay shared where the target can
// say so (PyTorch) and are written once per name elsewhere, with a warning.
// Values a target cannot hold are reported in the Report, never silently lost.
//
// Diff compares two checkpoints: names only in one, dtype and shape
// differences, and for common tensors whether the bytes are identical or the
// largest absolute and relative differences of their values.
//
// The CLI commands `pth convert` (for non-PyTorch targets) and `pth diff` are
// thin shells over Convert and Diff.
package checkpoint
