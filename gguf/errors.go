package gguf

import "errors"

// Sentinel errors; the package's errors wrap them with the file offset.
var (
	ErrFormat           = errors.New("gguf: not a GGUF file")
	ErrVersion          = errors.New("gguf: unsupported version")
	ErrTruncated        = errors.New("gguf: file truncated")
	ErrLimit            = errors.New("gguf: size or count beyond what the file can hold")
	ErrValueType        = errors.New("gguf: unknown metadata value type")
	ErrDuplicateKey     = errors.New("gguf: duplicate key")
	ErrUnknownType      = errors.New("gguf: unknown ggml tensor type")
	ErrShape            = errors.New("gguf: invalid tensor dimensions")
	ErrOffset           = errors.New("gguf: invalid tensor data offset")
	ErrAlignment        = errors.New("gguf: invalid general.alignment")
	ErrQuantized        = errors.New("gguf: quantized tensor data is not decoded")
	ErrNotFound         = errors.New("gguf: no such tensor")
	ErrUnsupportedDType = errors.New("gguf: dtype has no unquantized GGUF type")
	ErrWrite            = errors.New("gguf: invalid write")
)
