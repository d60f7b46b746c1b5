// Package checkpoint opens, converts and compares model checkpoints of any
// format pth knows, one tensor at a time.
//
// Open takes a path and returns a Checkpoint whatever the format: a PyTorch
// file (zip, legacy stream, tar or bare pickle, read through pth.Open; never
// executed), a safetensors file (mapped, zero copy), a GGUF file, a numpy
// .npz, a sharded set given by its *.index.json (model.safetensors.index.json,
// pytorch_model.bin.index.json) or a directory holding one of those or a
// single checkpoint file. Tensors are fetched by name, lazily: shards are
// opened the first time one of their tensors is asked for. A PyTorch file's
// tensors are named by their path in the pickled tree ("fc.weight",
// "optimizer_state_dict/state/0/exp_avg"); when all of them lie under one of
// "state_dict", "model_state_dict", "model" or "module", that prefix is dropped.
// An entire-model pickle (torch.save(model)) is read as its module's
// state_dict (pth.FindStateDict), the modules themselves being reported as
// not kept.
//
// Convert writes a checkpoint in another format (chosen from the output's
// extension or Options.To), optionally casting floating-point tensors to
// float16, bfloat16 or float32 (rounding as PyTorch's .to() does) and
// splitting the output into shards with an index. It streams: tensors stored
// as they are needed are copied from file sections through a small buffer,
// others are converted and written one at a time, to a temporary file (or
// directory, for shards) renamed into place at the end. PyTorch output is
// torch.save's zip format, written storage by storage.
//
// What each target keeps:
//
//   - Tensors sharing storage (tied weights) stay shared in PyTorch output
//     (also under a cast, for identical views); safetensors, GGUF and npz
//     cannot express sharing, so each name is written in full and a warning
//     names the group (Report.Shared, Report.Warnings).
//   - A state_dict's _metadata (per-module versions) is kept in PyTorch
//     output and reported as dropped elsewhere.
//   - A PyTorch file's plain scalars (epoch, loss, learning rates: str, int,
//     float, bool) become GGUF values of the same type (lossless) or
//     safetensors __metadata__ text (Go's shortest round-trip form, which is
//     Python's repr for these; only the type is lost); PyTorch and npz output
//     drop them. Other non-tensor values (None, objects) are reported as dropped.
//   - safetensors __metadata__ and GGUF string values carry over between
//     those two; a GGUF file's other values are reported as dropped when
//     converting to safetensors; GGUF output gets general.architecture = "pth"
//     when the source names none (the key is required).
//   - safetensors does not record key order: a round trip through it returns
//     the keys in its own order (dtype, then name).
//   - Tensors a target cannot hold (GGUF quantized blocks, dtypes without a
//     code in the target) fail the conversion, naming them, unless
//     Options.SkipUnsupported drops them into Report.Dropped.
//
// Diff compares two checkpoints: names only in one, dtype and shape
// differences, and for common tensors whether the bytes are identical or the
// largest absolute and relative differences of their values.
//
// The CLI commands `pth convert` (for non-PyTorch targets) and `pth diff` are
// thin shells over Convert and Diff.
package checkpoint
