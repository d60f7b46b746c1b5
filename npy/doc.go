// Package npy reads and writes numpy's .npy and .npz files over tensor.Tensor.
//
// Every numeric numpy dtype is supported (float16/32/64, int8–64, uint8–64,
// complex64/128, bool), in C or Fortran order, little- or big-endian, with
// header versions 1.0, 2.0 and 3.0. Big-endian data is byte-swapped to
// little-endian on first use; Fortran-ordered arrays become column-major views.
// Object arrays (which numpy stores as pickles) and structured dtypes are
// refused with ErrObject and ErrUnsupported.
//
// Reading validates before it trusts: the header length is capped
// (MaxHeaderLen), the header must be numpy's dict literal, and
// shape × itemsize must equal the bytes present, with overflow-checked
// arithmetic. Write produces byte-for-byte the files numpy.save writes
// (version 1.0 header padded to 64 bytes; 2.0 only when the header needs it).
//
// An .npz is a zip of .npy members, stored or deflated; ReadNPZ and WriteNPZ
// handle both.
package npy
