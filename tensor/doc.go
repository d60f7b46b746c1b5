// Package tensor holds pth's in-memory tensors: the DType table (PyTorch names,
// storage class names, safetensors and numpy codes, element sizes), Storage (a
// flat run of little-endian bytes: resident, read lazily from a file, or
// deferred until a reader's Locator finds where it lies) and Tensor (a strided
// view of a Storage, exactly as in PyTorch).
//
// It also converts between the low-precision float formats PyTorch saves
// (float16, bfloat16 and every float8 variant) and float32, rounding to nearest
// even with PyTorch's NaN, infinity and overflow semantics, and turns any real
// tensor into Go slices, copying only when it must.
//
// The package knows nothing of files: readers elsewhere build Storages over the
// bytes they find and Tensors over those Storages.
package tensor
