package pth

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error this package returns for bad input wraps one of
// them (or one of package pickle's), inside an *Error naming where it happened.
var (
	// ErrFormat means the bytes are not a PyTorch file this package can read, or
	// a container structure is corrupt (bad magic, truncated stream, bad header).
	ErrFormat = errors.New("pth: not a valid PyTorch file")
	// ErrPreviewFormat means the file is in the PYTORCH1 preview format, which
	// PyTorch itself refuses.
	ErrPreviewFormat = errors.New("pth: PYTORCH1 preview format is not supported (PyTorch refuses it too)")
	// ErrMissingRecord means a storage or record the pickle refers to is absent.
	ErrMissingRecord = errors.New("pth: missing record")
	// ErrStorageSize means a record is shorter than its storage's numel·element size.
	ErrStorageSize = errors.New("pth: storage record too short")
	// ErrTensorBounds means a tensor's shape, strides and offset reach outside its storage.
	ErrTensorBounds = errors.New("pth: tensor out of storage bounds")
	// ErrInvalid means a rebuild call has arguments of the wrong shape or type.
	ErrInvalid = errors.New("pth: invalid value")
	// ErrUnsafeGlobal means weights-only mode met a global not on the allow-list.
	ErrUnsafeGlobal = errors.New("pth: unsafe global")
	// ErrWeightsOnly means weights-only mode refused the file for another reason
	// (an opcode, a NEWOBJ/BUILD/SETITEM target, a persistent id, a container).
	ErrWeightsOnly = errors.New("pth: weights-only load refused")
	// ErrUnsupported means a valid construct this package cannot handle.
	ErrUnsupported = errors.New("pth: unsupported")
	// ErrClosed: a storage whose data had not been located yet (its first use
	// reads its zip record's local header) was used after File.Close.
	ErrClosed = errors.New("pth: file closed")
)

// Error locates a failure: the file, the record inside it (zip record, legacy
// section or tar member), the byte offset where known (-1 otherwise) and the key
// (storage key or value path).
type Error struct {
	File   string
	Record string
	Offset int64
	Key    string
	Err    error
}

// Error formats the location and the cause, e.g.
// "load model.pt: model/data.pkl: key \"3\": pth: storage record too short".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("load ")
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("<reader>")
	}
	if e.Record != "" {
		b.WriteString(": ")
		b.WriteString(e.Record)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " offset %d", e.Offset)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// keyError is an error about one storage key or value path, before the file and
// record are known.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return fmt.Sprintf("key %q: %v", e.key, e.err) }
func (e *keyError) Unwrap() error { return e.err }

// errorf wraps a sentinel with a message.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// locate wraps err in an *Error for file/record/offset, lifting a key from a keyError.
func locate(file, record string, offset int64, err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		if pe.File == "" {
			pe.File = file
		}
		if pe.Record == "" {
			pe.Record = record
		}
		return pe
	}
	e := &Error{File: file, Record: record, Offset: offset, Err: err}
	var ke *keyError
	if errors.As(err, &ke) {
		e.Key = ke.key
		e.Err = ke.err
	}
	return e
}

// keyName is a dict key as errors show it: a str as itself, anything else as
// its (clipped) Python repr.
func keyName(k Value) string {
	if s, ok := k.(string); ok {
		return s
	}
	return shortRepr(k)
}
