package tensor

import (
	"io"
	"math"
	"sync"
	"unsafe"
)

// DType is a PyTorch element type.
type DType uint8

// The dtypes PyTorch saves. The order is ours; never persist the numeric values.
const (
	Invalid DType = iota
	Float32
	Float64
	Float16
	BFloat16
	Float8E5M2
	Float8E4M3FN
	Float8E5M2FNUZ
	Float8E4M3FNUZ
	Float8E8M0FNU
	Complex32
	Complex64
	Complex128
	Int8
	Int16
	Int32
	Int64
	Uint8
	Uint16
	Uint32
	Uint64
	Bool
	QInt8
	QUInt8
	QInt32
	QUInt4x2
	QUInt2x4
)

// Storage is a flat run of bytes holding elements of one dtype, shared by every tensor
// that views it. Its bytes are little-endian once Bytes returns.
//
// A storage is either resident (heap memory or a slice of a memory-mapped file,
// given to NewStorage or NewStorageOrder), lazy (read from an io.ReaderAt on
// first use, NewLazyStorage), or deferred (resident once its place is found,
// on first use, StorageArena.NewDeferred).
type Storage struct {
	DType DType
	// n is the length of the resident bytes at data. It sits here, in the
	// padding after DType, rather than after data: see data.
	n        uint32
	NBytes   int64
	Location string // PyTorch location tag: "cpu", "cuda:0", "mps", …
	Key      string // the record key in the file it came from ("0", "1", …), informational

	// data and n are the resident little-endian bytes, unsafe.Slice(data, n):
	// a slice without its capacity, so that a Storage is 64 bytes rather
	// than 80 (a 20,000-tensor file makes 20,000 of them, and fresh memory
	// costs time). data keeps the bytes alive as a slice's pointer does.
	// n is kept apart from NBytes, which callers may change: Bytes checks
	// that the two agree, as it did with a slice. While pending is set, data
	// is nil and n 0; resident bytes of 4 GiB or more, more than n counts,
	// are kept in pending as raw bytes with nothing to swap. A deferred
	// storage (pending.loc set) is the exception: n is its Locator's id until
	// its first use sets data and n, under pending.mu, data last and
	// atomically (see located).
	data *byte
	// pending holds what a storage needs before its first use: a lazy source,
	// or big-endian bytes to swap. Resident little-endian storages (every
	// tensor of a mapped torch.save file) leave it nil, which keeps a Storage
	// small.
	pending *pending
}

// pending is a storage's first read, byte swap or size check, done once;
// or, shared by the deferred storages of one reader (Deferred), their Locator.
type pending struct {
	loc  Locator     // deferred storages: finds their bytes
	mu   sync.Mutex  // deferred storages: orders their first uses
	src  io.ReaderAt // lazy source (nil: use raw)
	off  int64       // offset of the bytes in src
	raw  []byte      // resident bytes (src nil): big-endian to swap, or too long for Storage.n
	swap bool        // elements are big-endian and must be swapped to little-endian
	once sync.Once
	data []byte // the little-endian bytes, after once
	err  error  // sticky error of the first read
}

// NewStorage returns a resident storage over data (no copy).
func NewStorage(dt DType, data []byte) *Storage {
	s := new(Storage)
	s.initOrder(dt, data, false)
	return s
}

// NewLazyStorage returns a storage whose nbytes bytes are read from r at off on first use.
// If bigEndian is set, elements are byte-swapped to little-endian when read.
func NewLazyStorage(dt DType, r io.ReaderAt, off, nbytes int64, bigEndian bool) *Storage {
	return &Storage{DType: dt, NBytes: nbytes, Location: "cpu", pending: &pending{src: r, off: off, swap: bigEndian && dt.Size() > 1}}
}

// NewStorageOrder returns a resident storage over data. If bigEndian is set, data
// holds big-endian elements: the first call to Bytes swaps them into a new buffer
// (data itself, which may be a read-only mapping, is never written).
func NewStorageOrder(dt DType, data []byte, bigEndian bool) *Storage {
	s := new(Storage)
	s.initOrder(dt, data, bigEndian)
	return s
}

func (s *Storage) initOrder(dt DType, data []byte, bigEndian bool) {
	*s = Storage{DType: dt, NBytes: int64(len(data)), Location: "cpu"}
	switch {
	case bigEndian && dt.Size() > 1:
		s.pending = &pending{raw: data, swap: true}
	case uint64(len(data)) > math.MaxUint32:
		s.pending = &pending{raw: data}
	default:
		s.data, s.n = unsafe.SliceData(data), uint32(len(data))
	}
}

// resident returns the resident bytes (nil while pending is set). The slice's
// capacity is its length, so appending to it never writes into shared memory.
func (s *Storage) resident() []byte { return unsafe.Slice(s.data, s.n) }

// StorageArena makes storages a block at a time, for readers that make
// thousands (a state_dict of small tensors has one storage per tensor): one
// allocation per block, and one object for the garbage collector to mark
// instead of hundreds. A block lives as long as any of its storages. The
// zero value is ready to use; an arena is not safe for concurrent use.
type StorageArena struct {
	block []Storage
}

// A Locator finds the bytes of deferred storages (StorageArena.NewDeferred).
// A reader defers what it can only learn with a further read per storage,
// such as where a zip record's data starts (its local header): opening a
// file of 20,000 small tensors then reads the directory, not 20,000 headers
// spread over the whole file.
type Locator interface {
	// Locate returns the n bytes of the storage the reader numbered id. It
	// may be called more than once for a storage, from several goroutines.
	Locate(id uint32, n int64) ([]byte, error)
}

// Deferred is what the deferred storages of one reader share: their Locator,
// and a lock that orders each storage's first use.
type Deferred struct{ p pending }

// NewDeferred returns a Deferred whose storages loc locates.
func NewDeferred(loc Locator) *Deferred { return &Deferred{p: pending{loc: loc}} }

// NewDeferred returns a storage of nbytes bytes (0 < nbytes < 4 GiB) that d's
// Locator finds, given id, on the first call of Bytes; it is resident from
// then on. A failed Locate is returned by that call of Bytes, and tried again
// by the next.
func (a *StorageArena) NewDeferred(dt DType, nbytes int64, d *Deferred, id uint32) *Storage {
	s := a.next()
	*s = Storage{DType: dt, NBytes: nbytes, Location: "cpu", n: id, pending: &d.p}
	return s
}

func (a *StorageArena) next() *Storage {
	if len(a.block) == 0 {
		a.block = make([]Storage, 256)
	}
	s := &a.block[0]
	a.block = a.block[1:]
	return s
}

// NewStorageOrder is the package function NewStorageOrder, from the arena.
func (a *StorageArena) NewStorageOrder(dt DType, data []byte, bigEndian bool) *Storage {
	s := a.next()
	s.initOrder(dt, data, bigEndian)
	return s
}

// Tensor is a strided view of a Storage, as in PyTorch. Offset and Strides are in elements.
//
// The one-byte fields come last, together, so that a Tensor is 80 bytes
// rather than 96: a 20,000-tensor file makes 20,000 of them.
type Tensor struct {
	Storage *Storage
	Shape   []int64
	Strides []int64
	Offset  int64
	// Quant is set for quantized tensors.
	Quant        *Quantization
	DType        DType // equals Storage.DType except for quantized views
	RequiresGrad bool
	// Conj is PyTorch's conjugate bit (Tensor.is_conj()): the tensor is a lazy
	// conjugate view, as x.conj() of a complex tensor gives, and its values are
	// the complex conjugates of the stored elements (imaginary parts negated).
	// Only complex tensors can carry it. torch.save keeps the bit and the
	// unconjugated storage (_rebuild_tensor_v2's metadata {'conj': True}).
	Conj bool
	// Neg is PyTorch's negative bit (Tensor.is_neg()): the tensor is a lazy
	// negated view, as torch._neg_view(x) or x.conj().imag give, and its values
	// are the negated stored elements (metadata {'neg': True}).
	//
	// Every accessor that returns values or bytes (ContiguousBytes, Float32s,
	// Float64s, Int64s, Int32s, Bools, Convert, Equal, Resolve) applies both
	// bits, so a view with either set is never zero-copy: its values are not its
	// storage's bytes. Storage.Bytes still returns the stored bytes, which is
	// what a writer that also writes the bits (torch.save's format) needs.
	Neg bool
}

// Quantization holds a quantized tensor's parameters.
type Quantization struct {
	Scheme     string  // "per_tensor_affine", "per_channel_affine", "per_channel_affine_float_qparams", …
	Scale      float64 // per-tensor
	ZeroPoint  int64   // per-tensor
	Scales     *Tensor // per-channel
	ZeroPoints *Tensor // per-channel
	Axis       int     // per-channel
}
