#!/usr/bin/env python3
"""Write testdata/pickle/*.pkl and testdata/pickle/golden.json for the Go pickle tests.

Run with any CPython 3.8+ (stdlib only), from the repository root:

    python3 testdata/gen/pickle_golden.py [OUT_DIR]

(OUT_DIR defaults to testdata/pickle; the Go test TestGoldenUpToDate writes to a
temporary directory and compares.) Written with CPython 3.11; other versions may
pickle some class instances differently.

Every object below is pickled with pickle.dumps in protocols 0-5 (CPython's C
pickler), plus a few hand-written pickles for opcodes Python 3 never emits
(STRING, BINSTRING, INST, OBJ, POP, DUP, ...). No file is ever loaded with
pickle.loads: the canonical rendering of each file is computed by an *inert*
unpickler built on CPython's own pure-Python pickle._Unpickler, whose opcode
parsing (escapes, longs, memo, frames) is the reference; only the opcodes that
would import or call something are overridden to build records instead.

Rendering (JSON), shared by the Go test:
    None -> null, bool -> true/false
    int -> {"int": "decimal"}, float -> {"float": "<16 hex digits of the IEEE bits>"}
    str -> {"str": s}, or {"str_wtf8": hex} when s holds lone surrogates
    bytes -> {"bytes": hex}, bytearray -> {"bytearray": hex}
    tuple -> {"tuple": [...]}
    list -> {"list": [...], "id": n}; dict -> {"dict": [[k, v], ...], "id": n}
    set/frozenset (EMPTY_SET/ADDITEMS/FROZENSET) -> {"set"|"frozenset": [...], "id": n}
    GLOBAL/STACK_GLOBAL -> {"global": "module.name"} (names as written, no fix_imports)
    EXT1/2/4 -> {"ext": code}; PERSID/BINPERSID -> {"persid": rendering of the id}
    REDUCE/NEWOBJ/NEWOBJ_EX/OBJ/INST -> {"object": "reduce"|"newobj"|"newobj_ex"|"obj"|"inst",
        "callable": r, "args": [...], "kwargs": r (newobj_ex), "state": r (after BUILD),
        "items": [[k, v], ...] (SETITEM(S) on it), "appended": [...] (APPEND(S) on it), "id": n}
    Ids number lists, dicts, sets and objects in depth-first pre-order (callable,
    args, kwargs, state, items, appended for objects); a second reference is {"ref": n}.

golden.json maps each file name to {"protocol": p, "value": rendering}, plus
"repr": Python's repr() of the value for some plain-data protocol-4 files.
ops.json maps a subset of the files to pickletools.genops' output:
[[offset, opcode name, rendered argument], ...], with GLOBAL/INST arguments as
the "module name" string pickletools gives and STRING-family arguments as str.
"""

import collections
import copyreg
import io
import json
import os
import pickle
import pickletools
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pickle")


# ---------------------------------------------------------------- inert unpickler

class G:
    def __init__(self, module, name):
        self.module, self.name = module, name


class Ext:
    def __init__(self, code):
        self.code = code


class PID:
    def __init__(self, pid):
        self.pid = pid


class ISet:
    def __init__(self, frozen):
        self.frozen, self.items, self.seen = frozen, [], set()

    def add(self, v):
        if v in self.seen:
            return
        self.seen.add(v)
        self.items.append(v)


class Inert:
    def __init__(self, kind, func, args, kwargs=None):
        self.kind, self.func, self.args, self.kwargs = kind, func, tuple(args), kwargs
        self.state, self.built, self.items, self.appended = None, False, [], []

    def append(self, v):
        self.appended.append(v)

    def __setitem__(self, k, v):
        self.items.append((k, v))


class InertUnpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        return G(module, name)

    def persistent_load(self, pid):
        return PID(pid)

    def load_reduce(self):
        args = self.stack.pop()
        self.stack[-1] = Inert("reduce", self.stack[-1], args)
    dispatch[pickle.REDUCE[0]] = load_reduce

    def load_newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(Inert("newobj", cls, args))
    dispatch[pickle.NEWOBJ[0]] = load_newobj

    def load_newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(Inert("newobj_ex", cls, args, kwargs))
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex

    def load_obj(self):
        args = self.pop_mark()
        cls = args.pop(0)
        self.append(Inert("obj", cls, args))
    dispatch[pickle.OBJ[0]] = load_obj

    def load_inst(self):
        module = self.readline()[:-1].decode("ascii")
        name = self.readline()[:-1].decode("ascii")
        args = self.pop_mark()
        self.append(Inert("inst", G(module, name), args))
    dispatch[pickle.INST[0]] = load_inst

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if not isinstance(inst, Inert):
            raise pickle.UnpicklingError("BUILD on a non-object")
        inst.state, inst.built = state, True
    dispatch[pickle.BUILD[0]] = load_build

    def load_ext1(self):
        self.append(Ext(self.read(1)[0]))
    dispatch[pickle.EXT1[0]] = load_ext1

    def load_ext2(self):
        self.append(Ext(struct.unpack("<H", self.read(2))[0]))
    dispatch[pickle.EXT2[0]] = load_ext2

    def load_ext4(self):
        self.append(Ext(struct.unpack("<i", self.read(4))[0]))
    dispatch[pickle.EXT4[0]] = load_ext4

    def load_empty_set(self):
        self.append(ISet(False))
    dispatch[pickle.EMPTY_SET[0]] = load_empty_set

    def load_frozenset(self):
        s = ISet(True)
        for it in self.pop_mark():
            s.add(it)
        self.append(s)
    dispatch[pickle.FROZENSET[0]] = load_frozenset

    def load_additems(self):
        items = self.pop_mark()
        s = self.stack[-1]
        for it in items:
            s.add(it)
    dispatch[pickle.ADDITEMS[0]] = load_additems


def inert_load(data):
    return InertUnpickler(io.BytesIO(data), encoding="latin1").load()


def render(v, ids):
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"float": struct.pack(">d", v).hex()}
    if isinstance(v, str):
        try:
            v.encode("utf-8")
            return {"str": v}
        except UnicodeEncodeError:
            return {"str_wtf8": v.encode("utf-8", "surrogatepass").hex()}
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, bytearray):
        return {"bytearray": v.hex()}
    if isinstance(v, tuple):
        return {"tuple": [render(x, ids) for x in v]}
    if isinstance(v, G):
        return {"global": v.module + "." + v.name}
    if isinstance(v, Ext):
        return {"ext": v.code}
    if isinstance(v, PID):
        return {"persid": render(v.pid, ids)}
    if id(v) in ids:
        return {"ref": ids[id(v)][0]}
    n = len(ids)
    ids[id(v)] = (n, v)
    if isinstance(v, list):
        return {"list": [render(x, ids) for x in v], "id": n}
    if isinstance(v, dict):
        return {"dict": [[render(k, ids), render(x, ids)] for k, x in v.items()], "id": n}
    if isinstance(v, ISet):
        return {"frozenset" if v.frozen else "set": [render(x, ids) for x in v.items], "id": n}
    if isinstance(v, Inert):
        r = {"object": v.kind, "callable": render(v.func, ids),
             "args": [render(x, ids) for x in v.args]}
        if v.kind == "newobj_ex":
            r["kwargs"] = render(v.kwargs, ids)
        if v.built:
            r["state"] = render(v.state, ids)
        r["items"] = [[render(k, ids), render(x, ids)] for k, x in v.items]
        r["appended"] = [render(x, ids) for x in v.appended]
        r["id"] = n
        return r
    raise TypeError("cannot render %r" % type(v))


# ---------------------------------------------------------------- objects

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


class Reduced:
    """__reduce__ with args and a state."""
    def __init__(self, a):
        self.a = a

    def __reduce__(self):
        return (Reduced, (self.a,), {"extra": [1, 2]})


class Slotted:
    __slots__ = ("u", "v")

    def __init__(self):
        self.u, self.v = 1, "two"


class WithKw:
    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, a, b=2):
        self.a, self.b = a, b

    def __getnewargs_ex__(self):
        return ((self.a,), {"b": self.b})


class Evil:
    """Never loaded: __reduce__ names os.system."""
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class ExtA:
    pass


class ExtB:
    pass


class ExtC:
    pass


copyreg.add_extension(__name__, "ExtA", 0xF0)
copyreg.add_extension(__name__, "ExtB", 0x1234)
copyreg.add_extension(__name__, "ExtC", 0x12345678)


class Storage:
    def __init__(self, key):
        self.key = key


class PersPickler(pickle.Pickler):
    def __init__(self, f, protocol):
        super().__init__(f, protocol=protocol)
        self.protocol = protocol

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            if self.protocol == 0:
                return "storage_" + obj.key
            return ("storage", "FloatStorage", obj.key, "cpu", 6)
        return None


def fresh(s):
    """A str object equal to s but not shared with any constant."""
    return "".join(list(s)) if len(s) != 1 else s


def objects():
    o = {}
    ints = [0, 1, 255, 256, 65535, 65536, 2**31 - 1, -1, -2**31, 2**31, -2**31 - 1,
            2**32, 2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64, 2**100, -2**100, 127, 128, -128, -129,
            2**2040, -2**2040]  # the last two need LONG4
    o["ints"] = ints
    for v in [0, 255, 256, 65535, 65536, 2**31 - 1, -1, -2**31, 2**31, 2**63, -2**63 - 1, 2**100]:
        o["int_%s" % str(v).replace("-", "m")] = v
    o["floats"] = [0.0, -0.0, 1.5, -2.25, float("nan"), float("inf"), float("-inf"), 1e300, 5e-324, 0.1]
    o["float_nan"] = float("nan")
    o["consts"] = [None, True, False]
    o["true"] = True
    o["none"] = None
    o["strings"] = ["", "a", "é", "日本語", "\U0001f600", "with\nnewline", "back\\slash \\u0041",
                    "tab\tquote'\"", "x" * 300, "\x00\x7f\x80\xff"]
    o["surrogate"] = ["\ud800", "a\udfffb"]
    o["bytes"] = [b"", b"a", b"abc", bytes(range(256)), b"y" * 300]
    o["bytes_single"] = b"\x00\xffhi"
    o["bytearrays"] = [bytearray(b""), bytearray(b"ab\x00\xff")]
    o["tuples"] = [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), (1, 2, 3, 4, 5), ((1,), ((),))]
    t = (fresh("shared"), 2)
    o["shared_tuple"] = [t, t, (t,)]
    shared = [1, 2]
    d = {fresh("k"): shared}
    o["shared"] = [shared, shared, d, d, {fresh("other"): d}]
    rec = []
    rec.append(rec)
    o["recursive_list"] = rec
    rd = {}
    rd[fresh("self")] = rd
    o["recursive_dict"] = rd
    deep = []
    cur = deep
    for _ in range(50):
        nxt = []
        cur.append(nxt)
        cur = nxt
    o["nested50"] = deep
    o["list1000"] = list(range(1000))
    o["list1001"] = list(range(1001))
    o["list2500"] = [i * 7 for i in range(2500)]
    o["dict1000"] = {i: -i for i in range(1000)}
    o["dict1001"] = {i: float(i) for i in range(1001)}
    o["dict2000"] = {fresh("k%d" % i): i for i in range(2000)}
    o["dict_keys"] = {1: "int", (1, 2): "tuple", None: "none", 2.5: "float", True: "bool-merges-with-1"}
    o["sets"] = [set(), {1, 2, 3}, frozenset(), frozenset({fresh("fz")})]
    o["set_big"] = set(range(1500))
    o["point"] = Point(1, [fresh("y")])
    o["reduced"] = Reduced(fresh("arg"))
    o["slotted"] = Slotted()
    o["withkw"] = WithKw(5, b=7)
    o["ordered_dict"] = collections.OrderedDict([(fresh("b"), 1), (fresh("a"), 2)])
    o["ordered_dict1"] = collections.OrderedDict([(fresh("z"), 1)])
    o["counter"] = collections.Counter({fresh("c"): 3})
    o["defaultdict"] = collections.defaultdict(list, {1: [2]})
    o["deque"] = collections.deque([1, 2, 3])
    o["complex"] = complex(1.5, -2.0)
    o["ext"] = [ExtA, ExtB, ExtC]
    o["class_ref"] = [Point, len, collections.OrderedDict]
    o["evil"] = Evil()
    o["storages"] = {fresh("w"): Storage("0"), fresh("b"): Storage("1"), fresh("w2"): Storage("0")}
    o["kitchen"] = {fresh("epoch"): 3, fresh("loss"): 0.25, fresh("lr"): [1e-3, 1e-4],
                    fresh("name"): fresh("resnet"), fresh("flags"): (True, False, None)}
    return o


# ---------------------------------------------------------------- hand-written pickles

MANUAL = {
    # protocol 0 text opcodes Python 3 no longer writes
    "m_string": b"(S'abc'\nS\"d\\'q\"\nS'\\x41\\101\\n\\t\\\\z\\q'\nS'\xe9'\nl.",
    "m_binstring": b"(T\x03\x00\x00\x00\xe9abU\x02hiU\x00l.",
    "m_int_text": b"(I0\nI-7\nI00\nI01\nI0x10\nI 12 \nI+5\nL123L\nL-99999999999999999999999\nL0\nl.",
    "m_float_text": b"(F1.5\nFnan\nF-inf\nF1e-5\nF-0.0\nl.",
    "m_unicode": b"(V\\u00e9t\\u00e9\nV\\U0001f600\nV\\\\u0041\nVplain\\x\nl.",
    "m_inst": b"(I1\nS'two'\ni__main__\nOld\n(dS'state'\nI3\nsb.",
    "m_obj": b"\x80\x01(c__main__\nOld\nK\x01K\x02o}q\x00X\x01\x00\x00\x00aK\x03sb.",
    "m_pop_dup": b"\x80\x02K\x01K\x020]q\x002(K\x05K\x061\x86.",
    "m_popmark": b"(K\x01K\x02(K\x031\x86.",
    "m_get_text": b"(lp0\nI1\naI2\nag0\na.",
    "m_persid": b"(Pstorage_0\nPstorage_1\nl.",
    "m_stack_global": b"\x80\x04\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R}b.",
    "m_memoize_frame": b"\x80\x04\x95\x0a\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01h\x00e\x94.",
    "m_bytearray8": b"\x80\x05\x96\x03\x00\x00\x00\x00\x00\x00\x00abc.",
    "m_binbytes8": b"\x80\x04\x8e\x02\x00\x00\x00\x00\x00\x00\x00hi\x8d\x02\x00\x00\x00\x00\x00\x00\x00\xc3\xa9.",
    "m_set_ops": b"\x80\x04\x8f(K\x01K\x02K\x01\x90(K\x03\x90(K\x04K\x04\x91\x86.",
    "m_append_on_object": b"\x80\x02c__main__\nBag\n)\x81(K\x01K\x02eK\x03aK\x04K\x05s(K\x06K\x07u}b.",
    "m_long4": b"\x80\x02\x8b\x03\x00\x00\x00\x00\x00\x80\x8b\x00\x00\x00\x00\x86.",
    "m_dict_text": b"(dS'a'\nI1\nsS'b'\nI2\ns(S'c'\nI3\nd\x86.",
    "m_binpersid": b"\x80\x02(X\x07\x00\x00\x00storageK\x05tQ.",
    "m_newobj_ex": b"\x80\x04c__main__\nK\n)}\x8c\x01a\x94K\x01s\x92.",
}


REPR_KEYS = ("ints", "floats", "strings", "bytes", "bytes_single", "tuples", "consts", "dict_keys",
             "kitchen", "shared", "recursive_list", "recursive_dict", "nested50", "int_m1")


def main():
    global OUT
    if len(sys.argv) > 1:
        OUT = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".pkl"):
            os.remove(os.path.join(OUT, f))
    golden = {}

    def emit(name, proto, data):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        golden[name] = {"protocol": proto, "value": render(inert_load(data), {})}
        if name.rsplit("_p", 1)[0] in REPR_KEYS and proto == 4:
            # Plain data only: Python's own repr of the loaded value, for pickle.Sprint.
            golden[name]["repr"] = repr(inert_load(data))

    for key, obj in objects().items():
        for proto in range(6):
            if key == "surrogate" and proto == 0:
                continue  # raw-unicode-escape of a lone surrogate is covered by m_unicode
            buf = io.BytesIO()
            try:
                PersPickler(buf, protocol=proto).dump(obj)
            except TypeError as e:  # e.g. __slots__ without __getstate__ in protocols 0-1
                print("skip %s protocol %d: %s" % (key, proto, e), file=sys.stderr)
                continue
            emit("%s_p%d.pkl" % (key, proto), proto, buf.getvalue())
    for key, data in MANUAL.items():
        emit(key + ".pkl", -1, data)

    ops = {}
    op_keys = ("kitchen", "ints", "strings", "floats", "consts", "bytes", "point", "ext", "storages",
               "tuples", "sets", "withkw", "bytearrays", "ordered_dict")
    for name in sorted(golden):
        if not (name.startswith("m_") or name.rsplit("_p", 1)[0] in op_keys):
            continue
        with open(os.path.join(OUT, name), "rb") as f:
            data = f.read()
        try:
            ops[name] = [[pos, op.name, render(arg, {})] for op, arg, pos in pickletools.genops(data)]
        except Exception as e:  # pickletools' STRING reader only takes ASCII
            print("genops %s: %s" % (name, e), file=sys.stderr)
    with open(os.path.join(OUT, "ops.json"), "w") as f:
        json.dump(ops, f, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")

    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print("wrote %d files to %s" % (len(golden), os.path.normpath(OUT)), file=sys.stderr)


if __name__ == "__main__":
    main()
