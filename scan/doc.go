// Package scan tells what a PyTorch, numpy or pickle file would do if Python
// loaded it, without loading it.
//
// It finds every pickle a Python loader could execute, whatever the file is
// called (content sniffing, never extensions): torch.save zips (every .pkl record,
// read as leniently as PyTorch), legacy torch.save streams (all five pickles),
// ≤0.3 tar archives, TorchScript archives, numpy .npy object arrays and .npz,
// gzip/zlib/bzip2-compressed (joblib-style) pickles, raw pickles of any protocol,
// several pickles concatenated, polyglots (a pickle in front of a zip, a
// safetensors or GGUF file whose bytes also parse as a pickle) and archives
// nested in archives, up to a depth. Safetensors and GGUF files are model
// files that cannot run code: they scan as safe unless they are also a pickle.
//
// Each pickle runs on a symbolic stack machine: GLOBAL, STACK_GLOBAL (through the
// memo), INST, OBJ and EXT names are resolved; REDUCE, NEWOBJ, NEWOBJ_EX, OBJ,
// INST and BUILD are recorded as calls with their literal arguments, and calls
// whose result is thrown away are marked. Nothing is imported or called.
//
// Judgement is by allow-list, explanation by deny-list: a global is Safe when it
// is on PyTorch's weights-only allow-list (internal/safeglobals) or only rebuilds
// numpy or builtin data; Dangerous, with a one-line reason, when it is known to
// run code or touch files, processes or the network, or when its name cannot be
// resolved statically; Unknown otherwise. A file's verdict is its worst global,
// and Error when something a loader would read cannot be read — never Safe.
//
// Scanning is bounded: per-pickle limits from pickle.DefaultLimits, a cap on
// opcodes, on inflated and buffered bytes, and on archive nesting. Zips are read
// with internal/zipfile (records inside the file, no overlaps) but records are
// inflated here, ignoring encryption/patch flag bits and CRCs as PyTorch's miniz
// does. Tensor storages (data/…, constants/… next to a .pkl) and everything after
// a legacy stream's five pickles are never read.
//
// Known limits: 7z archives are read when their streams use LZMA2 (7-Zip's and
// py7zr's default), with the package's own LZMA decoder; other coders (LZMA,
// BZip2, PPMd, filters, encryption) give Error, never Safe. joblib's inline arrays are
// skipped (numeric) or scanned as nested pickles (object dtype), and literal
// bytes handed to pickle.loads or torch.storage._load_from_bytes are scanned as
// nested files.
package scan
