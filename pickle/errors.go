package pickle

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors. Every decoding error wraps one of them (errors.Is), usually
// inside an *OpcodeError that gives the offset and opcode.
var (
	// ErrLimit is wrapped by errors caused by exceeding a Limits bound.
	ErrLimit = errors.New("pickle: resource limit exceeded")
	// ErrTruncated means the input ended inside an opcode or before STOP.
	ErrTruncated = errors.New("pickle: truncated input")
	// ErrMalformed means the bytes are not a valid pickle (unknown opcode, bad
	// argument, stack underflow, wrong operand type, missing memo entry, …).
	ErrMalformed = errors.New("pickle: malformed pickle")
	// ErrUnsupported means a valid construct this package does not handle, such
	// as out-of-band buffers (NEXT_BUFFER, READONLY_BUFFER) or an unknown protocol.
	ErrUnsupported = errors.New("pickle: unsupported")
	// ErrRefused means the decoder met an opcode listed in Options.Refuse.
	ErrRefused = errors.New("pickle: opcode refused")
)

// OpcodeError reports a failure at one opcode.
type OpcodeError struct {
	Offset int64 // offset of the opcode byte in the stream
	Op     byte  // the opcode; 0 (not an opcode) when the input ended between opcodes
	Err    error // the cause; wraps one of the sentinel errors
}

// Error returns "pickle: offset N: opcode NAME: cause" (without the opcode part when Op is 0).
func (e *OpcodeError) Error() string {
	if e.Op == 0 {
		return fmt.Sprintf("pickle: offset %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("pickle: offset %d: opcode %s: %v", e.Offset, OpName(e.Op), e.Err)
}

// Unwrap returns the cause.
func (e *OpcodeError) Unwrap() error { return e.Err }

// Limits bound the resources a decoder may use on untrusted input.
type Limits struct {
	MaxMemo     int   // most memo entries
	MaxElements int64 // most elements in any one container, and in all containers together
	MaxDepth    int   // deepest nesting of containers / MARK frames
	MaxAlloc    int64 // total bytes the decoder may allocate for strings, bytes and containers
}

// DefaultLimits returns limits proportional to the size of the input (0 when
// unknown): MaxAlloc is 64 MiB + 16×size, MaxElements 16 Mi + 16×size, MaxMemo
// 1 Mi + size, MaxDepth 10 000. They accept every pickle PyTorch writes while
// keeping hostile input from growing memory far beyond its own size.
func DefaultLimits(inputSize int64) Limits {
	if inputSize < 0 {
		inputSize = 0
	}
	mul := func(a, k, base int64) int64 {
		if a > (math.MaxInt64-base)/k {
			return math.MaxInt64
		}
		return base + k*a
	}
	memo := mul(inputSize, 1, 1<<20)
	if memo > math.MaxInt32 {
		memo = math.MaxInt32
	}
	return Limits{
		MaxMemo:     int(memo),
		MaxElements: mul(inputSize, 16, 16<<20),
		MaxDepth:    10000,
		MaxAlloc:    mul(inputSize, 16, 64<<20),
	}
}

// orDefaults fills the zero fields of l from DefaultLimits(inputSize).
func (l Limits) orDefaults(inputSize int64) Limits {
	def := DefaultLimits(inputSize)
	if l.MaxMemo <= 0 {
		l.MaxMemo = def.MaxMemo
	}
	if l.MaxElements <= 0 {
		l.MaxElements = def.MaxElements
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = def.MaxDepth
	}
	if l.MaxAlloc <= 0 {
		l.MaxAlloc = def.MaxAlloc
	}
	return l
}
