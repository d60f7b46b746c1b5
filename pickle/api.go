package pickle

// API CONTRACT (stubs, to be replaced by the real implementation in decode.go / encode.go).

import (
	"errors"
	"io"
)

// Options configure a Decoder.
type Options struct {
	// Limits; the zero value means DefaultLimits(size of input, or 0 when unknown).
	Limits Limits
	// PersistentLoad, when set, replaces each PERSID/BINPERSID id by its result.
	// When nil the decoder yields PersistentID values.
	PersistentLoad func(id Value) (Value, error)
}

// Decoder reads pickles from a stream.
type Decoder struct{ r io.Reader }

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader, opts *Options) *Decoder { return &Decoder{r: r} }

// Decode reads one pickle (up to and including STOP) and returns its value.
func (d *Decoder) Decode() (Value, error) { return nil, errors.New("unimplemented") }

// Unmarshal decodes one pickle from data.
func Unmarshal(data []byte, opts *Options) (Value, error) { return nil, errors.New("unimplemented") }

// EncoderOptions configure an Encoder.
type EncoderOptions struct {
	// Protocol is 2 (the default and only value for now).
	Protocol int
}

// Encoder writes protocol-2 pickles with CPython's opcode choices.
type Encoder struct{ w io.Writer }

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer, opts *EncoderOptions) *Encoder { return &Encoder{w: w} }

// Encode writes v as one complete pickle (PROTO 2 … STOP). PersistentID values become BINPERSID.
func (e *Encoder) Encode(v Value) error { return errors.New("unimplemented") }

// Marshal encodes v as one protocol-2 pickle.
func Marshal(v Value) ([]byte, error) { return nil, errors.New("unimplemented") }
