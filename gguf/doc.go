// Package gguf reads and writes GGUF version 3 files (ggml-org/ggml docs/gguf.md),
// the container of llama.cpp and ggml, over pth's tensor types.
//
// A file is a little-endian header ("GGUF", version, tensor count, metadata
// count), the metadata key/values (every value type, arrays nested to any
// depth up to MaxArrayDepth), the tensor infos (name, dimensions, ggml type,
// offset), padding to the alignment (general.alignment, 32 by default), then
// the tensor data, each tensor starting at a multiple of the alignment.
//
// # Dimension order
//
// GGUF stores dimensions in ggml's ne order: ne[0] is the innermost, fastest
// varying dimension. A PyTorch tensor of shape (d0, d1, …, dn) is stored with
// dims [dn, …, d1, d0] and byte-identical row-major data: nn.Linear's weight
// (out, in) is written as dims [in, out] with no transpose. TensorInfo.Dims
// holds the ne order as written; TensorInfo.Shape returns the PyTorch order,
// and the writer takes PyTorch-order shapes.
//
// # Tensor types
//
// F32, F16, BF16, F64, I8, I16, I32 and I64 tensors are returned as
// tensor.Tensor values. Quantized types (Q4_0 … Q8_K, the IQ and TQ types,
// MXFP4) are listed with their names, shapes, types and byte sizes computed
// from the block tables of gguf-py; their data can be read as raw bytes with
// File.Data but is not decoded.
//
// Every count, length and size in a file is checked against the bytes that are
// actually there before anything is allocated, and errors wrap sentinel values
// (ErrFormat, ErrTruncated, ErrLimit, …) with the offset where they occurred.
package gguf
