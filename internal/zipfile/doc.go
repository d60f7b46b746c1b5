// Package zipfile reads and writes the zip dialect PyTorch uses for torch.save
// and TorchScript archives (caffe2's PyTorchStreamReader/Writer over miniz).
//
// Every record lives under one top-level folder ("archive/data.pkl"). The writer
// stores records uncompressed (or deflated on request, as TorchScript's code
// records are) with their data starting on a 64-byte boundary (a
// "FB" padding extra field in the local header), follows each non-empty record
// with a data descriptor, and always ends with ZIP64 end records — byte for byte
// what PyTorch 1.13 writes, so a file written here is indistinguishable from one
// written by torch.save.
//
// The reader is lenient like miniz about header fields PyTorch does not check
// (versions, flags, times, local header sizes, data descriptors, local/central
// name mismatches, which it exposes) and strict about everything that bounds
// memory and time on untrusted input: every offset and size must lie inside the
// file, records may not overlap, entry counts and name lengths are capped, and
// deflated records may not expand beyond their declared size or deflate's
// maximum ratio. Opening an archive reads only the directory and the local
// headers, never record data; NewLazyReader reads the directory only, and each
// local header when its record is asked for, as PyTorch's reader does.
package zipfile
