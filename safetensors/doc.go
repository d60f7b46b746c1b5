// Package safetensors reads and writes the safetensors format of Hugging Face
// (https://github.com/huggingface/safetensors) over pth's tensor types.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON, then one
// byte buffer holding every tensor's little-endian, C-ordered elements:
//
//	{"__metadata__": {"format": "pt"},
//	 "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}
//
// Reading validates everything before trusting it, as the reference
// implementation does: the header length is capped (MaxHeaderSize), the JSON
// must be UTF-8 with no duplicate keys, __metadata__ maps strings to strings,
// offsets are contiguous from 0, never overlap and cover the buffer exactly,
// and shape × element size equals the byte count with checked arithmetic.
// Each failure has its own sentinel error (ErrHeaderTooLarge, ErrInvalidOffset, …)
// that errors.Is recognises.
//
// Open maps the file read-only; the tensors it returns are zero-copy views of
// the mapping and stay valid until File.Close. As with any mapping, a file
// truncated by another process while it is open makes later reads fault;
// NewReader reads through an io.ReaderAt instead, one tensor at a time on
// demand, and has no such exposure.
//
// Writer streams: the header is written first from the tensors' names,
// dtypes and shapes, then each tensor's bytes in the order the Python library
// uses (dtype alignment descending, then name), so memory stays bounded by the
// largest tensor the caller holds.
package safetensors
