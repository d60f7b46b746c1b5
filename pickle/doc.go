// Package pickle reads and writes Python pickles without running them.
//
// The Decoder understands every opcode of protocols 0–5 and builds inert
// Values (see Value): dicts, lists, tuples, ints, strings, … and, for anything
// that would import or call code, records — a Global names module.name, an
// *Object records the REDUCE/NEWOBJ/OBJ/INST call with its arguments and the
// BUILD state, SETITEM(S) and APPEND(S) applied to it. Nothing is imported,
// looked up or called, so decoding a malicious pickle is as safe as decoding a
// benign one; deciding what a record means is the caller's job (package pth
// interprets PyTorch's rebuild functions, package scan judges danger).
//
// Decoding details:
//   - STRING, BINSTRING and SHORT_BINSTRING (Python 2 str) become Go strings
//     decoded as Latin-1, as torch.load(encoding="latin1") does.
//   - Bytes are []byte, bytearrays ByteArray, big ints *big.Int, EXT codes Ext.
//   - PERSID/BINPERSID give PersistentID unless Options.PersistentLoad is set.
//   - Out-of-band buffers (NEXT_BUFFER, READONLY_BUFFER) fail with ErrUnsupported,
//     as does BUILD on anything but an *Object.
//   - The reader is consumed byte-exactly (no read-ahead), so pickles followed by
//     raw data, as in PyTorch's legacy format, can be read in sequence;
//     Decoder.Offset tells how far it got.
//
// Untrusted input is bounded by Limits (DefaultLimits scales them with the
// input size): memo entries, elements — counting every shared reference made
// by memo GET or DUP at its full size, which defuses "billion laughs" — nesting
// depth, and bytes allocated, checked before allocating. Errors are
// *OpcodeError values naming the offset and opcode and wrapping ErrTruncated,
// ErrMalformed, ErrLimit or ErrUnsupported.
//
// The Encoder writes protocol 2 with the opcode choices of CPython's C pickler,
// so a value decoded from pickle.dumps(obj, protocol=2) output is written back
// byte for byte, and values built in Go come out as CPython would write the
// equivalent Python object (see Encoder for the rules, memo identity included).
//
// Options.OnGlobal reports every global reference as the opcodes stream by and
// Options.Refuse stops at listed opcodes (ErrRefused), so a caller can apply an
// unpickler's allow-lists (package pth does torch's weights-only rules this
// way) in the same single pass that builds the value.
//
// Options.Reduce and Options.Splicer let a caller build what it recognises
// while the pickle is decoded instead of interpreting Objects afterwards:
// Reduce sees each REDUCE's callable and arguments, a Splicer decodes a whole
// call from the bytes without building its arguments at all (package pth reads
// torch.save's tensors this way); a Splicer that skipped a value the pickle
// later fetches makes Decode fail with ErrSpliced, and the caller decodes again
// without it.
//
// OpReader is the low-level opcode stream, like Python's pickletools.genops,
// for tools that inspect a pickle without building values. Sprint prints a
// value tree in Python-like notation.
//
// Tests compare against CPython: testdata/gen/pickle_golden.py writes pickles
// of many objects in protocols 0–5 and records an inert rendering of each
// (computed with CPython's own pickle._Unpickler), pickletools.genops output and
// repr(); protocol-2 files must re-encode byte for byte, as must PyTorch's
// torch.save data.pkl files, and random value trees must match what CPython's
// pickle.dumps(pickle.loads(b), 2) gives.
package pickle
