package scan

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/pthkit/pth/pickle"
)

// Sentinel errors, wrapped (with the file, record and offset) in FileReport.Errors.
var (
	// ErrNotModel: the file is neither a pickle nor a container that holds one.
	ErrNotModel = errors.New("not a pickle or a model container")
	// ErrNotPickle: a record that a loader would unpickle does not hold a pickle.
	ErrNotPickle = errors.New("record is not a pickle")
	// ErrNesting: archives are nested deeper than Options.MaxNesting.
	ErrNesting = errors.New("archives nested too deeply")
	// ErrBudget: the scan would read or hold more than its budget (zip bombs, huge records).
	ErrBudget = errors.New("scan budget exceeded")
	// ErrArchive: a zip whose records lie outside the file or overlap.
	ErrArchive = errors.New("malformed archive")
	// ErrUnsupported: a container the scanner recognises but cannot open (e.g. LZMA-compressed 7z).
	ErrUnsupported = errors.New("unsupported container")
)

// Options bound a scan. The zero value (or nil) gives the defaults.
type Options struct {
	// MaxNesting is how deep archives inside archives are opened (default 4).
	MaxNesting int
	// MaxOps is the most pickle opcodes executed per file (default 1<<26).
	MaxOps int64
	// MaxBuffered is the most bytes held in memory or inflated per file, beyond
	// the file itself (default 64 MiB plus 16 times the file size).
	MaxBuffered int64
}

// Report is the result of scanning several paths.
type Report struct {
	Files []*FileReport `json:"files"`
}

// FileReport is the result of scanning one file.
type FileReport struct {
	Path string `json:"path"`
	// Verdict is the worst class of the file's globals, or Error when something a
	// loader would read could not be read (unless a dangerous global was found first).
	Verdict Class `json:"verdict"`
	// Globals are the distinct globals reached, in the order first met.
	Globals []Global `json:"globals"`
	// Pickles counts the pickles found and executed symbolically.
	Pickles int `json:"pickles"`
	// Errors explain an Error verdict (also present alongside Dangerous).
	Errors []string `json:"errors,omitempty"`
	// Err holds the same errors for errors.Is (ErrNotModel, pickle.ErrTruncated, …).
	Err []error `json:"-"`
}

// Global is one global reached by a pickle: what Python would import.
type Global struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Class  Class  `json:"class"`
	Reason string `json:"reason"`
	// Calls are the calls made through this global, with their literal arguments
	// where they are constants: "os.system('curl … | sh')". A call whose result
	// the pickle throws away ends in " # result discarded".
	Calls []string `json:"calls"`
}

// Worst returns the worst verdict in the report (Safe for an empty one).
func (r *Report) Worst() Class {
	w := Safe
	for _, f := range r.Files {
		w = max(w, f.Verdict)
	}
	return w
}

func (o *Options) withDefaults(size int64) Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.MaxNesting <= 0 {
		v.MaxNesting = 4
	}
	if v.MaxOps <= 0 {
		v.MaxOps = 1 << 26
	}
	if v.MaxBuffered <= 0 {
		v.MaxBuffered = 64 << 20
		if size > 0 && size < (1<<40) {
			v.MaxBuffered += 16 * size
		}
	}
	return v
}

// Paths scans files and, recursively, directories. A path that cannot be read
// gets a FileReport with verdict Error.
func Paths(paths []string, opts *Options) *Report {
	rep := &Report{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			rep.Files = append(rep.Files, errorReport(p, err))
			continue
		}
		if !st.IsDir() {
			if !st.Mode().IsRegular() {
				rep.Files = append(rep.Files, errorReport(p, fmt.Errorf("%w: not a regular file (%s)", ErrNotModel, st.Mode().Type())))
				continue
			}
			rep.Files = append(rep.Files, File(p, opts))
			continue
		}
		var files []string
		werr := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				rep.Files = append(rep.Files, errorReport(q, err))
				return nil
			}
			switch {
			case d.Type().IsRegular():
				files = append(files, q)
			case d.Type()&fs.ModeSymlink != 0:
				// A link to a model file is scanned; links to folders are not
				// followed (no cycles), nor are devices or pipes opened.
				if st, err := os.Stat(q); err == nil && st.Mode().IsRegular() {
					files = append(files, q)
				}
			}
			return nil
		})
		if werr != nil {
			rep.Files = append(rep.Files, errorReport(p, werr))
		}
		sort.Strings(files)
		for _, q := range files {
			rep.Files = append(rep.Files, File(q, opts))
		}
	}
	return rep
}

func errorReport(path string, err error) *FileReport {
	return &FileReport{Path: path, Verdict: Error, Globals: []Global{}, Errors: []string{err.Error()}, Err: []error{err}}
}

// File scans the file at path.
func File(path string, opts *Options) *FileReport {
	f, err := os.Open(path)
	if err != nil {
		return errorReport(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return errorReport(path, err)
	}
	return Reader(f, st.Size(), path, opts)
}

// Bytes scans data, reporting it under name.
func Bytes(data []byte, name string, opts *Options) *FileReport {
	return Reader(bytes.NewReader(data), int64(len(data)), name, opts)
}

// Reader scans the size bytes of ra, reporting them under name. It reads the
// pickles and container directories only, never tensor data.
func Reader(ra io.ReaderAt, size int64, name string, opts *Options) *FileReport {
	o := opts.withDefaults(size)
	fs := newFileScan(o, size)
	fs.source(name, ra, size, 0, modeTop)
	if !fs.modelish && len(fs.errs) == 0 {
		fs.fail(name, fmt.Errorf("%w: no pickle or array found", ErrNotModel))
	}
	return fs.report(name)
}

// mode says what a stream is expected to hold.
type mode uint8

const (
	modeTop    mode = iota // a file given to the scanner: must be a model file
	modeStrict             // a record a loader unpickles (.pkl): must be a pickle
	modeSniff              // any other record: scanned if it looks like a pickle or a container
)

// fileScan accumulates what one file holds.
type fileScan struct {
	opts      Options
	size      int64
	findings  map[string]*finding
	order     []*finding
	pickles   int
	errs      []error
	ops       int64
	items     int64
	buffered  int64
	nestDepth int  // pickles inside pickles being scanned
	modelish  bool // a pickle or an array was found: the file is a model file of some kind
}

func newFileScan(o Options, size int64) *fileScan {
	return &fileScan{opts: o, size: size, findings: map[string]*finding{}}
}

func (fs *fileScan) fail(where string, err error) {
	if len(fs.errs) < 32 {
		fs.errs = append(fs.errs, &LocatedError{Where: where, Err: err})
	}
}

// LocatedError is an error in one file, record and (for pickles) offset.
type LocatedError struct {
	Where string // "model.pt:archive/data.pkl offset 147"
	Err   error
}

func (e *LocatedError) Error() string { return e.Where + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *LocatedError) Unwrap() error { return e.Err }

func (fs *fileScan) chargeOp() error {
	fs.ops++
	if fs.ops > fs.opts.MaxOps {
		return fmt.Errorf("%w: more than %d opcodes", ErrBudget, fs.opts.MaxOps)
	}
	return nil
}

func (fs *fileScan) chargeItems(n int) error {
	fs.items += int64(n)
	if fs.items > fs.opts.MaxOps {
		return fmt.Errorf("%w: more than %d container items", ErrBudget, fs.opts.MaxOps)
	}
	return nil
}

func (fs *fileScan) chargeBuffered(n int64) error {
	if n < 0 || n > fs.opts.MaxBuffered-fs.buffered {
		return fmt.Errorf("%w: more than %d bytes inflated or buffered", ErrBudget, fs.opts.MaxBuffered)
	}
	fs.buffered += n
	return nil
}

func (fs *fileScan) global(module, name string) *finding {
	key := module + "\x00" + name
	if f, ok := fs.findings[key]; ok {
		return f
	}
	c, reason := Classify(module, name)
	f := &finding{key: key, module: module, name: name, class: c, reason: reason}
	fs.findings[key] = f
	fs.order = append(fs.order, f)
	return f
}

func (fs *fileScan) unresolved(module, name, reason string) *finding {
	key := "\x01" + module + "\x00" + name
	if f, ok := fs.findings[key]; ok {
		return f
	}
	f := &finding{key: key, module: module, name: name, class: Dangerous, reason: reason}
	fs.findings[key] = f
	fs.order = append(fs.order, f)
	return f
}

// ext records an EXT1/2/4 reference.
func (fs *fileScan) ext(code int64) *finding {
	name := "extension code " + strconv.FormatInt(code, 10)
	key := "\x02" + name
	if f, ok := fs.findings[key]; ok {
		return f
	}
	f := &finding{key: key, module: "copyreg", name: name, class: Unknown,
		reason: "EXT opcode: the global the loading process registered under this code with copyreg.add_extension (none by default, and then the load fails)"}
	fs.findings[key] = f
	fs.order = append(fs.order, f)
	return f
}

// merge adds the findings of a speculative child scan.
func (fs *fileScan) merge(c *fileScan) {
	for _, f := range c.order {
		key := f.key
		have, ok := fs.findings[key]
		if !ok {
			fs.findings[key] = f
			fs.order = append(fs.order, f)
			continue
		}
		if f.class > have.class {
			have.class, have.reason = f.class, f.reason
		}
		for _, c := range f.calls {
			if len(have.calls) < maxCallsPerGlobal {
				have.calls = append(have.calls, c)
			} else {
				have.moreCalls++
			}
		}
		have.moreCalls += f.moreCalls
	}
	fs.pickles += c.pickles
	fs.ops, fs.items, fs.buffered = c.ops, c.items, c.buffered
	fs.errs = append(fs.errs, c.errs...)
}

// child returns an empty scan sharing this one's budgets (copied back by merge).
func (fs *fileScan) child() *fileScan {
	c := newFileScan(fs.opts, fs.size)
	c.ops, c.items, c.buffered = fs.ops, fs.items, fs.buffered
	return c
}

func (fs *fileScan) report(path string) *FileReport {
	r := &FileReport{Path: path, Pickles: fs.pickles, Globals: []Global{}}
	verdict := Safe
	for _, f := range fs.order {
		g := Global{Module: f.module, Name: f.name, Class: f.class, Reason: f.reason, Calls: []string{}}
		for _, c := range f.calls {
			t := c.text
			if c.discarded {
				t += " # result discarded"
			}
			g.Calls = append(g.Calls, t)
		}
		if f.moreCalls > 0 {
			g.Calls = append(g.Calls, fmt.Sprintf("… %d more calls", f.moreCalls))
		}
		r.Globals = append(r.Globals, g)
		verdict = max(verdict, f.class)
	}
	if len(fs.errs) > 0 {
		verdict = max(verdict, Error)
	}
	for _, e := range fs.errs {
		r.Errors = append(r.Errors, e.Error())
		r.Err = append(r.Err, e)
	}
	r.Verdict = verdict
	return r
}

// nested scans bytes a pickle hands to a loader (pickle.loads(b'…')), up to
// the nesting bound.
func (fs *fileScan) nested(loader string, b []byte) {
	where := "bytes passed to " + loader
	if fs.nestDepth >= fs.opts.MaxNesting {
		fs.fail(where, fmt.Errorf("%w: more than %d levels", ErrNesting, fs.opts.MaxNesting))
		return
	}
	fs.nestDepth++
	fs.source(where, bytes.NewReader(b), int64(len(b)), fs.nestDepth, modeTop)
	fs.nestDepth--
}

// source scans a seekable source: the file itself, or a buffered record.
func (fs *fileScan) source(where string, ra io.ReaderAt, size int64, depth int, m mode) {
	sr := io.NewSectionReader(ra, 0, size)
	br := bufio.NewReaderSize(sr, bufSize(size))
	head, _ := br.Peek(512)
	k := sniff(head)
	switch k {
	case kindZip:
		fs.zip(where, ra, size, depth)
		return
	case kind7z:
		fs.sevenZip(where, ra, size, depth)
		return
	}
	fs.stream(where, br, head, k, depth, m)
	// Polyglots: a file that is something else at its start and also a zip at
	// its end. Python's zipfile (numpy.load, zip-based loaders) finds the zip.
	if k != kindZip && k != kindTar {
		if start, ok := embeddedZip(ra, size); ok {
			fs.zip(fmt.Sprintf("%s (zip at offset %d)", where, start), io.NewSectionReader(ra, start, size-start), size-start, depth)
		}
	}
}

// stream scans a forward-only stream whose first bytes are head.
func (fs *fileScan) stream(where string, br *bufio.Reader, head []byte, k kind, depth int, m mode) {
	switch k {
	case kindZip, kind7z:
		if depth >= fs.opts.MaxNesting {
			fs.fail(where, fmt.Errorf("%w: more than %d levels", ErrNesting, fs.opts.MaxNesting))
			return
		}
		data, err := fs.readAll(br)
		if err != nil {
			fs.fail(where, err)
			return
		}
		fs.source(where, bytes.NewReader(data), int64(len(data)), depth+1, m)
	case kindTar:
		if depth >= fs.opts.MaxNesting {
			fs.fail(where, fmt.Errorf("%w: more than %d levels", ErrNesting, fs.opts.MaxNesting))
			return
		}
		fs.tar(where, br, depth+1)
	case kindNpy:
		fs.npy(where, br)
	case kindGzip, kindZlib, kindBzip2:
		if depth >= fs.opts.MaxNesting {
			fs.fail(where, fmt.Errorf("%w: more than %d levels", ErrNesting, fs.opts.MaxNesting))
			return
		}
		fs.compressed(where, br, k, depth+1, m)
	case kindPreview:
		fs.fail(where, fmt.Errorf("%w: PYTORCH1 preview format, which PyTorch itself refuses", ErrNotModel))
	case kindLegacy:
		fs.pickles5(where, br)
	case kindSafetensors, kindGGUF:
		// Formats that cannot run code. But their first bytes are also pickle
		// opcodes ('X' BINUNICODE, 'G' BINFLOAT): a crafted file can be both, and
		// torch.load(weights_only=False) on it runs the pickle. Scan it as one,
		// speculatively: what does not parse as a pickle is the format's data.
		fs.modelish = true
		fs.pickleStream(where, br, 0, -1)
	case kindPickle:
		strict := 1
		if m == modeSniff {
			strict = 0
		}
		fs.pickleStream(where, br, strict, -1)
	default:
		switch m {
		case modeTop:
			fs.fail(where, fmt.Errorf("%w: starts with % x", ErrNotModel, head[:min(len(head), 8)]))
		case modeStrict:
			fs.fail(where, fmt.Errorf("%w: starts with % x", ErrNotPickle, head[:min(len(head), 8)]))
		}
	}
}

// readAll reads a record into memory, within the buffer budget.
func (fs *fileScan) readAll(r io.Reader) ([]byte, error) {
	left := fs.opts.MaxBuffered - fs.buffered
	data, err := io.ReadAll(io.LimitReader(r, left+1))
	if err != nil {
		return nil, err
	}
	if err := fs.chargeBuffered(int64(len(data))); err != nil {
		return nil, err
	}
	return data, nil
}

// pickles5 scans a legacy torch.save stream: exactly the five pickles
// torch.load unpickles (magic, protocol, sys_info, object, storage keys);
// after them come raw storage bytes, which nothing unpickles.
func (fs *fileScan) pickles5(where string, br *bufio.Reader) {
	fs.pickleStream(where, br, 5, 5)
}

// pickleStream scans consecutive pickles: the first strict ones must parse
// (an error makes the verdict Error); later ones are speculative (several
// pickles concatenated, a payload after a decoy): their findings count when
// they parse to STOP or reach a well-formed global, and they end the stream
// quietly otherwise (raw data after the last pickle). max < 0 means no limit.
func (fs *fileScan) pickleStream(where string, br *bufio.Reader, strict, max int) {
	lim := pickle.DefaultLimits(fs.size)
	or := pickle.NewOpReader(br, lim)
	for i := 0; max < 0 || i < max; i++ {
		if _, err := br.Peek(1); err != nil {
			if err != io.EOF {
				fs.fail(where, err)
			} else if i < strict {
				fs.fail(where, fmt.Errorf("%w: expected %d pickles, found %d", pickle.ErrTruncated, strict, i))
			}
			return
		}
		if i >= strict {
			c := fs.child()
			mc := newMachine(c, lim)
			mc.src = br
			_, err := mc.run(or)
			if err == nil || mc.sawGlob {
				if err == nil {
					c.pickles++
					c.modelish = true
				}
				c.errs = nil // a speculative parse is not a failure of the file
				fs.merge(c)
				fs.modelish = fs.modelish || c.modelish
			}
			if err != nil {
				return
			}
			continue
		}
		mc := newMachine(fs, lim)
		mc.src = br
		_, err := mc.run(or)
		if err == io.EOF {
			return
		}
		fs.pickles++
		for _, a := range mc.anoms {
			fs.fail(fmt.Sprintf("%s pickle %d offset %d", where, i+1, a.offset), fmt.Errorf("%w: %s (Python's unpickler raises here)", pickle.ErrMalformed, a.msg))
		}
		if err != nil {
			fs.fail(fmt.Sprintf("%s pickle %d", where, i+1), err)
			return
		}
		fs.modelish = true
	}
}

// onePickle runs exactly one strict pickle from br and returns its value.
func (fs *fileScan) onePickle(where string, br *bufio.Reader) (*node, error) {
	lim := pickle.DefaultLimits(fs.size)
	or := pickle.NewOpReader(br, lim)
	mc := newMachine(fs, lim)
	mc.src = br
	_, err := mc.run(or)
	if err != nil {
		return nil, err
	}
	fs.pickles++
	fs.modelish = true
	for _, a := range mc.anoms {
		fs.fail(fmt.Sprintf("%s offset %d", where, a.offset), fmt.Errorf("%w: %s", pickle.ErrMalformed, a.msg))
	}
	if len(mc.stack) == 0 {
		return opaque, nil
	}
	return mc.stack[len(mc.stack)-1], nil
}
