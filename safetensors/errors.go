package safetensors

import (
	"errors"
	"fmt"
)

// Sentinel errors, one per way a file can be invalid. Errors returned by this
// package wrap them (errors.Is) together with the file and tensor concerned.
var (
	ErrHeaderTooSmall     = errors.New("safetensors: file shorter than the 8-byte header length")
	ErrHeaderTooLarge     = errors.New("safetensors: header length above the limit")
	ErrInvalidHeaderLen   = errors.New("safetensors: header length runs past the end of the file")
	ErrInvalidHeader      = errors.New("safetensors: header is not valid UTF-8")
	ErrInvalidJSON        = errors.New("safetensors: header is not the expected JSON")
	ErrDuplicateKey       = errors.New("safetensors: duplicate key in header")
	ErrInvalidMetadata    = errors.New("safetensors: __metadata__ must map strings to strings")
	ErrUnknownDType       = errors.New("safetensors: unknown dtype")
	ErrUnsupportedDType   = errors.New("safetensors: dtype cannot be stored in safetensors")
	ErrInvalidOffset      = errors.New("safetensors: data offsets are not contiguous from 0")
	ErrTensorInvalidInfo  = errors.New("safetensors: shape and dtype do not match the data offsets")
	ErrIncompleteBuffer   = errors.New("safetensors: data offsets do not cover the buffer exactly")
	ErrOverflow           = errors.New("safetensors: size arithmetic overflows")
	ErrNotFound           = errors.New("safetensors: no such tensor")
	ErrClosed             = errors.New("safetensors: file is closed")
	ErrWriteOrder         = errors.New("safetensors: tensor written out of order")
	ErrWriteSize          = errors.New("safetensors: tensor data has the wrong size")
	ErrWriteIncomplete    = errors.New("safetensors: not every declared tensor was written")
	ErrInvalidTensorName  = errors.New("safetensors: invalid tensor name")
	ErrNonContiguousInput = errors.New("safetensors: tensor is not contiguous")
)

// headerErr wraps err with the offset in the file where the problem lies.
func headerErr(off int64, err error) error {
	return fmt.Errorf("header offset %d: %w", off, err)
}
