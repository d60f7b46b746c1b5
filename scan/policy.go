package scan

import (
	"strings"
	"unicode"

	"github.com/pthkit/pth/internal/safeglobals"
)

// Class is the classification of one global, and of a whole file (its worst global).
type Class int

// Classes, from best to worst. A file's verdict is the worst class of everything
// found in it; Error ranks above Unknown because a file that cannot be read fully
// must never pass as safe, and below Dangerous because a payload found before the
// damage (a broken stream after builtins.exec) is still a payload.
const (
	// Safe: PyTorch's weights-only allow-list, numpy array reconstruction and plain data types.
	Safe Class = iota
	// Unknown: would import a module and call or build something not known to be safe
	// (a user's __main__.SimpleNet, torch.nn classes, argparse.Namespace).
	Unknown
	// Error: something could not be read; the file is not known to be safe.
	Error
	// Dangerous: known code execution, file, process or network access.
	Dangerous
)

// String returns "safe", "unknown", "error" or "dangerous".
func (c Class) String() string {
	switch c {
	case Safe:
		return "safe"
	case Unknown:
		return "unknown"
	case Error:
		return "error"
	case Dangerous:
		return "dangerous"
	}
	return "invalid"
}

// MarshalText makes a Class encode as its name in JSON.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// extraSafe are globals outside PyTorch's weights-only list that only rebuild data:
// numpy arrays, dtypes and scalars (both the numpy.core and numpy._core spellings),
// plain builtin containers, and the helpers TorchScript's data.pkl uses for typed
// containers (the C++ unpickler accepts exactly these).
var extraSafe = map[string]bool{
	"numpy.core.multiarray._reconstruct":                      true,
	"numpy._core.multiarray._reconstruct":                     true,
	"numpy.core.multiarray.scalar":                            true,
	"numpy._core.multiarray.scalar":                           true,
	"numpy.core.numeric._frombuffer":                          true,
	"numpy._core.numeric._frombuffer":                         true,
	"numpy.ndarray":                                           true,
	"joblib.numpy_pickle.NumpyArrayWrapper":                   true,
	"sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper": true,
	"numpy.dtype":                            true,
	"collections.OrderedDict":                true,
	"collections.defaultdict":                true,
	"collections.deque":                      true,
	"builtins.set":                           true,
	"builtins.frozenset":                     true,
	"builtins.bytearray":                     true,
	"builtins.bytes":                         true,
	"builtins.complex":                       true,
	"builtins.slice":                         true,
	"builtins.range":                         true,
	"builtins.list":                          true,
	"builtins.tuple":                         true,
	"builtins.dict":                          true,
	"builtins.str":                           true,
	"builtins.int":                           true,
	"builtins.float":                         true,
	"builtins.bool":                          true,
	"torch.jit._pickle.restore_type_tag":     true,
	"torch.jit._pickle.build_intlist":        true,
	"torch.jit._pickle.build_tensorlist":     true,
	"torch.jit._pickle.build_doublelist":     true,
	"torch.jit._pickle.build_boollist":       true,
	"torch.jit._pickle.build_tensor_from_id": true,
}

// denyRule names a module (and its submodules) or a module.name (and attributes
// reached through it) that is dangerous, with the one-line reason a report shows.
type denyRule struct {
	prefix string
	reason string
}

const (
	reasonExec    = "runs Python code it is given"
	reasonShell   = "runs a shell command or external process"
	reasonImport  = "imports an arbitrary module or resolves an arbitrary name"
	reasonNested  = "loads a nested pickle, which can run arbitrary code"
	reasonNet     = "opens network connections"
	reasonFile    = "reads or writes files"
	reasonAttr    = "reaches any attribute or method by name (gadget chains)"
	reasonCall    = "calls a function chosen by the pickle"
	reasonNative  = "loads native code or calls C functions"
	reasonInstall = "installs packages or creates environments (runs commands)"
)

// denyList is the explanation table: the first matching rule gives the reason.
// Judgement does not depend on it (anything off the allow-list is at least unknown);
// it turns "unknown" into "dangerous" with a reason. Rules match the canonical
// name (after __builtin__→builtins and friends) at a dot boundary, so "os" covers
// os.system and os.path.join, and "pydoc.locate" covers nothing else in pydoc.
var denyList = []denyRule{
	// The interpreter and the operating system.
	{"builtins.eval", reasonExec},
	{"builtins.exec", reasonExec},
	{"builtins.execfile", reasonExec},
	{"builtins.compile", "compiles code objects for eval/exec"},
	{"builtins.__import__", reasonImport},
	{"builtins.reload", reasonImport},
	{"builtins.getattr", reasonAttr},
	{"builtins.setattr", "overwrites attributes of modules or classes"},
	{"builtins.delattr", "deletes attributes of modules or classes"},
	{"builtins.globals", "exposes the interpreter's global namespace"},
	{"builtins.locals", "exposes the interpreter's local namespace"},
	{"builtins.vars", "exposes an object's namespace"},
	{"builtins.open", reasonFile},
	{"builtins.file", reasonFile},
	{"builtins.apply", reasonCall},
	{"builtins.breakpoint", "starts a debugger (runs code)"},
	{"builtins.input", "reads from the terminal"},
	{"builtins.exit", "exits the process"},
	{"builtins.quit", "exits the process"},
	{"builtins.help", "starts the interactive help (pager: runs a command)"},
	{"builtins.memoryview", "raw memory access"},
	{"builtins.__build_class__", "builds classes from code"},
	{"os", "operating-system access: processes, files, environment"},
	{"posix", "operating-system access: processes, files, environment"},
	{"nt", "operating-system access: processes, files, environment"},
	{"_posixsubprocess", reasonShell},
	{"_winapi", reasonShell},
	{"subprocess", reasonShell},
	{"pty", "spawns a process on a pseudo-terminal"},
	{"sys", "interpreter internals (sys.modules, exit, settrace, …)"},
	{"signal", "installs signal handlers or kills processes"},
	{"_thread", "starts threads running a callable"},
	{"threading", "starts threads running a callable"},
	{"multiprocessing", reasonShell},
	{"_multiprocessing", reasonShell},
	{"asyncio", "event loop subprocess and network primitives"},
	{"platform.popen", reasonShell},
	{"platform._syscmd_file", reasonShell},
	{"platform._syscmd_ver", reasonShell},
	{"_aix_support", reasonShell},
	{"_osx_support", reasonShell},
	{"uuid._get_command_stdout", reasonShell},
	{"uuid._popen", reasonShell},
	{"uuid._find_mac", reasonShell},
	{"uuid._find_mac_near_keyword", reasonShell},
	{"uuid._find_mac_under_heading", reasonShell},
	{"uuid._ifconfig_getnode", reasonShell},
	{"uuid._ip_getnode", reasonShell},
	{"uuid._arp_getnode", reasonShell},
	{"uuid._lanscan_getnode", reasonShell},
	{"uuid._netstat_getnode", reasonShell},
	{"imaplib.IMAP4_stream", reasonShell},
	{"imaplib", reasonNet},
	{"webbrowser", "opens URLs by launching programs"},
	{"ctypes", reasonNative},
	{"_ctypes", reasonNative},
	{"cffi", reasonNative},
	{"winreg", "Windows registry access"},
	{"_winreg", "Windows registry access"},
	{"msvcrt", "Windows C runtime access"},
	// Running code.
	{"runpy", reasonExec},
	{"code", reasonExec},
	{"codeop", "compiles code objects"},
	{"pdb", "debugger: runs the code it is given"},
	{"bdb", "debugger: runs the code it is given"},
	{"cProfile", reasonExec},
	{"profile", reasonExec},
	{"timeit", reasonExec},
	{"trace", reasonExec},
	{"doctest", reasonExec},
	{"idlelib", "IDLE internals that run or evaluate code"},
	{"_pyrepl", "REPL internals that run code or commands"},
	{"pydoc", "imports arbitrary names and runs the pager command"},
	{"lib2to3", "grammar loading (pickle) and eval gadgets"},
	{"test", "CPython's test helpers run interpreters and commands"},
	{"IPython", "interactive shell internals (run_cell, system)"},
	{"site", "changes the import path and runs .pth files"},
	{"types.CodeType", "builds code objects"},
	{"types.FunctionType", "builds functions from code objects"},
	{"types.LambdaType", "builds functions from code objects"},
	{"types.MethodType", "binds arbitrary callables"},
	{"marshal", "deserializes code objects"},
	{"importlib", reasonImport},
	{"imp", reasonImport},
	{"zipimport", reasonImport},
	{"pkgutil", reasonImport},
	{"operator.call", reasonCall},
	{"_operator.call", reasonCall},
	{"atexit", "runs a callable when the interpreter exits"},
	{"gc", "reaches every live object (introspection gadgets)"},
	{"antigravity", "importing it opens a web browser"},
	{"operator.attrgetter", reasonAttr},
	{"operator.methodcaller", reasonAttr},
	{"operator.itemgetter", reasonAttr},
	{"operator.getitem", reasonAttr},
	{"_operator.attrgetter", reasonAttr},
	{"_operator.methodcaller", reasonAttr},
	{"_operator.itemgetter", reasonAttr},
	{"_operator.getitem", reasonAttr},
	{"functools.partial", reasonCall},
	{"functools.reduce", reasonCall},
	{"_functools", reasonCall},
	{"copyreg._extension_registry", "redirects EXT codes to arbitrary globals"},
	{"copyreg.add_extension", "redirects EXT codes to arbitrary globals"},
	// Nested deserialisation.
	{"pickle", reasonNested},
	{"_pickle", reasonNested},
	{"cPickle", reasonNested},
	{"dill", reasonNested},
	{"cloudpickle", "cloudpickle rebuilds functions from code objects"},
	{"shelve", reasonNested},
	{"joblib.load", reasonNested},
	{"joblib.numpy_pickle.load", reasonNested},
	{"joblib.numpy_pickle.NDArrayWrapper", "joblib's old format: np.load of a companion file the pickle names"},
	{"jsonpickle", reasonNested},
	{"yaml.load", "unsafe YAML loading constructs arbitrary objects"},
	{"yaml.unsafe_load", "unsafe YAML loading constructs arbitrary objects"},
	{"pandas.read_pickle", reasonNested},
	{"pandas.read_csv", "reads local files or URLs (exfiltration)"},
	{"numpy.load", reasonNested},
	{"numpy.f2py", "evaluates expressions and compiles Fortran"},
	{"numpy.testing", "test helpers run code strings"},
	{"numpy.distutils", reasonShell},
	{"numpy.ctypeslib", reasonNative},
	{"torch.load", reasonNested},
	{"torch.serialization.load", reasonNested},
	{"torch.serialization._load", reasonNested},
	{"torch.serialization._legacy_load", reasonNested},
	{"torch.jit.load", "loads a TorchScript archive (nested pickles and code)"},
	{"torch.jit._serialization.load", "loads a TorchScript archive (nested pickles and code)"},
	{"torch.jit.unsupported_tensor_ops", reasonExec},
	{"torch.hub", "downloads and runs code from the internet"},
	{"torch.package", "imports code packaged in an archive"},
	{"torch._inductor", "compiles and loads generated code"},
	{"torch._dynamo", "evaluates guard code"},
	{"torch.fx.experimental.symbolic_shapes.ShapeEnv.evaluate_guards_expression", reasonExec},
	{"torch.utils.collect_env", reasonShell},
	{"torch.utils.bottleneck", reasonExec},
	{"torch.utils.cpp_extension", "compiles and loads native extensions"},
	{"torch.utils._config_module", "loads pickled configuration (nested pickle)"},
	{"torch.utils.data.datapipes.utils.decoder", reasonNested},
	{"torch.storage._load_from_bytes", reasonNested},
	{"torch._C._jit_pass", "TorchScript compiler internals"},
	{"torch.ops", "calls arbitrary registered operators"},
	{"torch._ops", "calls arbitrary registered operators"},
	{"torch.distributed.rpc", reasonNet},
	// Files and network.
	{"io.open", reasonFile},
	{"io.FileIO", reasonFile},
	{"io.open_code", reasonFile},
	{"_io", reasonFile},
	{"codecs.open", reasonFile},
	{"fileinput", reasonFile},
	{"tempfile", reasonFile},
	{"shutil", "copies, moves or deletes files"},
	{"tarfile", "extracts archives (writes files)"},
	{"zipfile", "extracts archives (writes files)"},
	{"distutils", "file writes and build commands"},
	{"setuptools", reasonInstall},
	{"pip", reasonInstall},
	{"ensurepip", reasonInstall},
	{"venv", reasonInstall},
	{"logging.FileHandler", reasonFile},
	{"logging.handlers", "file, socket and process log handlers"},
	{"logging.config", "configuration listeners evaluate code"},
	{"sqlite3", reasonFile},
	{"dbm", reasonFile},
	{"socket", reasonNet},
	{"_socket", reasonNet},
	{"ssl", reasonNet},
	{"select", reasonNet},
	{"selectors", reasonNet},
	{"socketserver", reasonNet},
	{"http", reasonNet},
	{"urllib", reasonNet},
	{"urllib2", reasonNet},
	{"urllib3", reasonNet},
	{"httplib", reasonNet},
	{"requests", reasonNet},
	{"aiohttp", reasonNet},
	{"httpx", reasonNet},
	{"ftplib", reasonNet},
	{"smtplib", reasonNet},
	{"poplib", reasonNet},
	{"nntplib", reasonNet},
	{"telnetlib", reasonNet},
	{"xmlrpc", reasonNet},
	{"mlflow", "runs projects and entry points"},
}

// Classify returns the class of the global module.name as written in a pickle,
// and a one-line reason. The name may be dotted (STACK_GLOBAL's "Class.method").
func Classify(module, name string) (Class, string) {
	cm, cn := safeglobals.Canonical(module, name)
	full := cm + "." + cn
	if !validModule(cm) || !validName(cn) {
		return Dangerous, "not a valid module or attribute name: resolved in ways a scanner cannot follow"
	}
	// Attribute traversal through dunders (object.__subclasses__, f.__globals__, …)
	// reaches the interpreter whatever the module is.
	for _, part := range strings.Split(cn, ".") {
		if len(part) > 4 && strings.HasPrefix(part, "__") && strings.HasSuffix(part, "__") {
			return Dangerous, "reaches interpreter internals through " + part
		}
	}
	for _, r := range denyList {
		if full == r.prefix || strings.HasPrefix(full, r.prefix+".") {
			return Dangerous, r.reason
		}
	}
	if safeglobals.WeightsOnlyAllowed(cm, cn) {
		return Safe, "on PyTorch's weights-only allow-list"
	}
	if extraSafe[full] {
		return Safe, "rebuilds plain data"
	}
	if strings.HasPrefix(full, "numpy.dtypes.") && strings.HasSuffix(cn, "DType") && !strings.Contains(cn, ".") {
		return Safe, "numpy dtype class"
	}
	if safeglobals.Blocked(cm) {
		return Dangerous, "module blocked by PyTorch's weights-only loader"
	}
	return Unknown, "imports " + cm + " and calls or builds " + cn + ": not known to be safe"
}

// validModule reports whether s is a dotted Python identifier path, as an
// importable module name must be.
func validModule(s string) bool {
	if s == "" {
		return false
	}
	for _, p := range strings.Split(s, ".") {
		if !validIdent(p) {
			return false
		}
	}
	return true
}

func validName(s string) bool { return validModule(s) }

// validIdent accepts what could name a module file or an attribute: Python
// identifiers, and also names a file could carry that an identifier cannot
// (leading digits, hyphens), since __import__ does not check identifier syntax.
// Whitespace, punctuation and control characters cannot be imported: a GLOBAL
// with them fails in CPython before anything runs.
func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
		case r > 127 && unicode.IsPrint(r) && !unicode.IsSpace(r):
		default:
			return false
		}
	}
	return true
}
