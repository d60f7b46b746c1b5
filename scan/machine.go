package scan

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pthkit/pth/pickle"
)

// The symbolic machine runs a pickle's opcodes over symbolic values: it keeps the
// stack, the mark stack and the memo as CPython's Unpickler does, but a GLOBAL is
// only a name, a REDUCE only a record of what would have been called. It is
// lenient: where CPython would raise (memo miss, stack underflow, calling a
// constant) it notes an anomaly, pushes an opaque value and goes on, so that
// everything reachable after the problem is still seen. Memory is linear in the
// number of opcodes: containers hold pointers to values already built, and memo
// GETs share them.

type nodeKind uint8

const (
	kConst  nodeKind = iota // str, bytes, int, float, bool, None
	kGlobal                 // a GLOBAL / STACK_GLOBAL / INST / EXT reference
	kCall                   // the result of REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST
	kTuple                  // tuple
	kList                   // list
	kDict                   // dict
	kSet                    // set / frozenset
	kPersID                 // persistent_load(id)
	kOpaque                 // something the machine lost track of
)

// node is one symbolic value.
type node struct {
	kind  nodeKind
	val   any      // kConst: string, []byte, int64, *big.Int, float64, bool, nil
	glob  *finding // kGlobal: the finding it refers to
	fn    *node    // kCall: the callable
	items []*node  // kCall: arguments; containers: items (dicts: key, value, key, value …)
	call  *callRec // kCall: the record of this call, when kept
	// shown caches the last rendering of a container or call (shared values are
	// rendered once, however often the memo hands them out); shownKey is the
	// budget and depth it was made for, plus one.
	shown    string
	shownKey int
}

// callRec is one recorded call of a global.
type callRec struct {
	text      string
	discarded bool
}

// finding is one distinct global reached in a file.
type finding struct {
	key          string // identity within a file: module and name, marked when unresolved
	module, name string
	class        Class
	reason       string
	calls        []*callRec
	moreCalls    int
}

const maxCallsPerGlobal = 8

// anomaly is a point where CPython's unpickler would raise.
type anomaly struct {
	offset int64
	msg    string
}

// machine is the symbolic unpickler for one pickle.
type machine struct {
	fs       *fileScan
	stack    []*node
	marks    []int
	memo     map[int64]*node
	maxMemo  int
	proto    int64
	sawGlob  bool          // a GLOBAL-like opcode was decoded (for speculative scans)
	src      *bufio.Reader // the stream under the opcode reader, for joblib's inline arrays
	anoms    []anomaly
	offset   int64
	maxDepth int
}

var errInvalidGlobal = errors.New("GLOBAL names no importable module or attribute")

func newMachine(fs *fileScan, lim pickle.Limits) *machine {
	return &machine{fs: fs, memo: map[int64]*node{}, maxMemo: lim.MaxMemo, maxDepth: lim.MaxDepth}
}

func (m *machine) anomaly(format string, a ...any) {
	if len(m.anoms) < 16 {
		m.anoms = append(m.anoms, anomaly{m.offset, fmt.Sprintf(format, a...)})
	}
}

var opaque = &node{kind: kOpaque}

func (m *machine) push(n *node) { m.stack = append(m.stack, n) }

func (m *machine) pop() *node {
	base := 0
	if len(m.marks) > 0 {
		base = m.marks[len(m.marks)-1]
	}
	if len(m.stack) <= base {
		m.anomaly("stack underflow")
		return opaque
	}
	n := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return n
}

func (m *machine) top() *node {
	base := 0
	if len(m.marks) > 0 {
		base = m.marks[len(m.marks)-1]
	}
	if len(m.stack) <= base {
		m.anomaly("stack underflow")
		return opaque
	}
	return m.stack[len(m.stack)-1]
}

// popMark pops everything above the last MARK and the mark itself.
func (m *machine) popMark() []*node {
	if len(m.marks) == 0 {
		m.anomaly("no MARK on the stack")
		items := m.stack
		m.stack = nil
		return items
	}
	at := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	if at > len(m.stack) {
		at = len(m.stack)
	}
	items := append([]*node(nil), m.stack[at:]...)
	m.stack = m.stack[:at]
	return items
}

// run executes opcodes from or up to and including STOP. It returns nil after
// STOP, io.EOF when the input ended cleanly before any opcode, and otherwise the
// error that ended the pickle (the findings made so far are kept in m.fs).
func (m *machine) run(or *pickle.OpReader) (ops int, err error) {
	for {
		op, err := or.Next()
		if err != nil {
			if err == io.EOF && ops > 0 {
				return ops, fmt.Errorf("%w: input ends before STOP", pickle.ErrTruncated)
			}
			return ops, err
		}
		ops++
		m.offset = op.Offset
		if m.fs != nil {
			if err := m.fs.chargeOp(); err != nil {
				return ops, err
			}
		}
		if done, err := m.step(op); done || err != nil {
			return ops, err
		}
	}
}

func (m *machine) step(op pickle.Op) (stop bool, err error) {
	switch op.Code {
	case pickle.OpStop:
		m.top() // CPython pops the result: an empty stack is an underflow
		if len(m.stack) > 1 {
			for _, n := range m.stack[:len(m.stack)-1] {
				markDiscarded(n)
			}
		}
		return true, nil
	case pickle.OpProto:
		m.proto, _ = op.Arg.(int64)
	case pickle.OpFrame:
	case pickle.OpMark:
		if len(m.marks) >= m.maxDepth {
			return true, fmt.Errorf("%w: more than %d nested MARKs", pickle.ErrLimit, m.maxDepth)
		}
		m.marks = append(m.marks, len(m.stack))
	case pickle.OpPop:
		if len(m.marks) > 0 && m.marks[len(m.marks)-1] == len(m.stack) {
			m.marks = m.marks[:len(m.marks)-1] // CPython 3's POP of a MARK
			break
		}
		markDiscarded(m.pop())
	case pickle.OpPopMark:
		for _, n := range m.popMark() {
			markDiscarded(n)
		}
	case pickle.OpDup:
		m.push(m.top())

	// Constants.
	case pickle.OpNone, pickle.OpNewTrue, pickle.OpNewFalse,
		pickle.OpInt, pickle.OpBinInt, pickle.OpBinInt1, pickle.OpBinInt2,
		pickle.OpLong, pickle.OpLong1, pickle.OpLong4, pickle.OpFloat, pickle.OpBinFloat,
		pickle.OpUnicode, pickle.OpBinUnicode, pickle.OpShortBinUnicode, pickle.OpBinUnicode8,
		pickle.OpBinBytes, pickle.OpShortBinBytes, pickle.OpBinBytes8, pickle.OpByteArray8:
		v := op.Arg
		switch op.Code {
		case pickle.OpNewTrue:
			v = true
		case pickle.OpNewFalse:
			v = false
		}
		m.push(&node{kind: kConst, val: v})
	case pickle.OpString, pickle.OpBinString, pickle.OpShortBinString:
		// Python 3 decodes these as text (encoding="ASCII" by default, "latin1" for
		// torch.load); a name built from them is a str either way.
		b, _ := op.Arg.([]byte)
		m.push(&node{kind: kConst, val: latin1(b)})

	// Containers.
	case pickle.OpEmptyTuple:
		m.push(&node{kind: kTuple})
	case pickle.OpTuple:
		m.push(&node{kind: kTuple, items: m.popMark()})
	case pickle.OpTuple1, pickle.OpTuple2, pickle.OpTuple3:
		n := int(op.Code-pickle.OpTuple1) + 1
		items := make([]*node, n)
		for i := n - 1; i >= 0; i-- {
			items[i] = m.pop()
		}
		m.push(&node{kind: kTuple, items: items})
	case pickle.OpEmptyList:
		m.push(&node{kind: kList})
	case pickle.OpList:
		m.push(&node{kind: kList, items: m.popMark()})
	case pickle.OpEmptyDict:
		m.push(&node{kind: kDict})
	case pickle.OpDict:
		items := m.popMark()
		if len(items)%2 != 0 {
			m.anomaly("DICT with an odd number of items")
			items = items[:len(items)-1]
		}
		m.push(&node{kind: kDict, items: items})
	case pickle.OpEmptySet:
		m.push(&node{kind: kSet})
	case pickle.OpFrozenSet:
		m.push(&node{kind: kSet, items: m.popMark()})
	case pickle.OpAppend:
		v := m.pop()
		m.addItems(m.top(), "append", []*node{v})
	case pickle.OpAppends:
		items := m.popMark()
		m.addItems(m.top(), "extend", items)
	case pickle.OpAddItems:
		items := m.popMark()
		m.addItems(m.top(), "add", items)
	case pickle.OpSetItem:
		v := m.pop()
		k := m.pop()
		m.addItems(m.top(), "__setitem__", []*node{k, v})
	case pickle.OpSetItems:
		items := m.popMark()
		if len(items)%2 != 0 {
			m.anomaly("SETITEMS with an odd number of items")
			items = items[:len(items)-1]
		}
		m.addItems(m.top(), "__setitem__", items)

	// Memo.
	case pickle.OpPut, pickle.OpBinPut, pickle.OpLongBinPut:
		idx, _ := op.Arg.(int64)
		return false, m.memoPut(idx, m.top())
	case pickle.OpMemoize:
		return false, m.memoPut(int64(len(m.memo)), m.top())
	case pickle.OpGet, pickle.OpBinGet, pickle.OpLongBinGet:
		idx, _ := op.Arg.(int64)
		n, ok := m.memo[idx]
		if !ok {
			m.anomaly("memo key %d was never stored", idx)
			n = opaque
		}
		m.push(n)

	// Globals.
	case pickle.OpGlobal:
		g, _ := op.Arg.(pickle.Global)
		f, err := m.global(g.Module, g.Name)
		if err != nil {
			return true, err
		}
		m.push(&node{kind: kGlobal, glob: f})
	case pickle.OpStackGlobal:
		name := m.pop()
		mod := m.pop()
		ms, mok := constString(mod)
		ns, nok := constString(name)
		if !mok || !nok {
			f := m.fs.unresolved(render(mod, 40), render(name, 40),
				"STACK_GLOBAL operands are not constant strings (computed, or a memo miss): the name cannot be resolved statically")
			m.push(&node{kind: kGlobal, glob: f})
			m.sawGlob = true
			break
		}
		f, err := m.global(ms, ns)
		if err != nil {
			return true, err
		}
		m.push(&node{kind: kGlobal, glob: f})
	case pickle.OpExt1, pickle.OpExt2, pickle.OpExt4:
		code, _ := op.Arg.(int64)
		// A code resolves only to a global the loading process registered with
		// copyreg.add_extension (none by default: the load then fails). A pickle
		// cannot register one itself, so it is not judged dangerous, only unknown.
		f := m.fs.ext(code)
		m.sawGlob = true
		m.push(&node{kind: kGlobal, glob: f})

	// Calls.
	case pickle.OpReduce:
		args := m.pop()
		fn := m.pop()
		m.push(m.call(fn, tupleItems(args), ""))
	case pickle.OpNewObj:
		args := m.pop()
		cls := m.pop()
		m.push(m.call(cls, tupleItems(args), ".__new__"))
	case pickle.OpNewObjEx:
		kwargs := m.pop()
		args := m.pop()
		cls := m.pop()
		items := tupleItems(args)
		if kwargs.kind == kDict && len(kwargs.items) > 0 {
			items = append(items[:len(items):len(items)], kwargs)
		}
		m.push(m.call(cls, items, ".__new__"))
	case pickle.OpObj:
		items := m.popMark()
		if len(items) == 0 {
			m.anomaly("OBJ without a class")
			m.push(opaque)
			break
		}
		m.push(m.call(items[0], items[1:], ""))
	case pickle.OpInst:
		g, _ := op.Arg.(pickle.Global)
		args := m.popMark()
		f, err := m.global(g.Module, g.Name)
		if err != nil {
			return true, err
		}
		m.push(m.call(&node{kind: kGlobal, glob: f}, args, ""))
	case pickle.OpBuild:
		state := m.pop()
		target := m.top()
		m.build(target, state)
		if head := headGlobal(target); target.kind == kCall && head != nil && joblibWrappers[head.module+"."+head.name] {
			if err := m.joblibArray(state); err != nil {
				return true, err
			}
		}

	case pickle.OpPersID, pickle.OpBinPersID:
		var id *node
		if op.Code == pickle.OpBinPersID {
			id = m.pop()
		} else {
			s, _ := op.Arg.(string)
			id = &node{kind: kConst, val: s}
		}
		m.push(&node{kind: kPersID, items: []*node{id}})
	case pickle.OpNextBuffer, pickle.OpReadonlyBuffer:
		m.anomaly("%s needs out-of-band buffers that a file cannot carry", op.Name)
		if op.Code == pickle.OpNextBuffer {
			m.push(opaque)
		}
	default:
		return true, fmt.Errorf("%w: opcode %s not handled", pickle.ErrMalformed, op.Name)
	}
	return false, nil
}

func (m *machine) memoPut(idx int64, n *node) error {
	if idx < 0 {
		m.anomaly("negative memo index %d", idx)
		return nil
	}
	if _, ok := m.memo[idx]; !ok && len(m.memo) >= m.maxMemo {
		return fmt.Errorf("%w: more than %d memo entries", pickle.ErrLimit, m.maxMemo)
	}
	m.memo[idx] = n
	return nil
}

// global records a reference to module.name. Names CPython could not decode or
// import end the pickle with an error: nothing after them would run.
func (m *machine) global(module, name string) (*finding, error) {
	if !utf8.ValidString(module) || !utf8.ValidString(name) {
		return nil, fmt.Errorf("%w: %q %q is not valid UTF-8", errInvalidGlobal, module, name)
	}
	if !validModule(module) || !validName(name) {
		return nil, fmt.Errorf("%w: %.60q %.60q", errInvalidGlobal, module, name)
	}
	m.sawGlob = true
	return m.fs.global(module, name), nil
}

// call records fn(*args) and returns the symbolic result.
func (m *machine) call(fn *node, args []*node, suffix string) *node {
	res := &node{kind: kCall, fn: fn, items: args}
	head := headGlobal(fn)
	switch {
	case head != nil:
	case fn.kind == kOpaque:
		// The callable was lost (memo miss, underflow): fail closed.
		head = m.fs.unresolved("?", "?", "calls a value the scanner could not follow (memo miss or stack underflow)")
	default:
		m.anomaly("calls a %s, which is not callable", kindName(fn.kind))
		return res
	}
	var sb strings.Builder
	sb.WriteString(render(fn, 80))
	sb.WriteString(suffix)
	sb.WriteByte('(')
	sb.WriteString(renderList(args, 240))
	sb.WriteByte(')')
	res.call = head.addCall(sb.String())
	if nestedLoaders[head.module+"."+head.name] && len(args) > 0 && m.fs != nil {
		if b, ok := literalBytes(args[0]); ok {
			m.fs.nested(head.module+"."+head.name, b)
		}
	}
	return res
}

// literalBytes returns the bytes n stands for when they are constant: a bytes
// literal, or _codecs.encode(str, 'latin1'), which protocol-2 pickles use for bytes.
func literalBytes(n *node) ([]byte, bool) {
	if n.kind == kConst {
		b, ok := n.val.([]byte)
		return b, ok
	}
	if n.kind != kCall || len(n.items) != 2 {
		return nil, false
	}
	if g := n.fn; g.kind != kGlobal || g.glob.module != "_codecs" || g.glob.name != "encode" {
		return nil, false
	}
	s, ok := constString(n.items[0])
	enc, ok2 := constString(n.items[1])
	if !ok || !ok2 || (enc != "latin1" && enc != "latin-1") {
		return nil, false
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}

// nestedLoaders unpickle (or torch.load) their first argument: when it is a
// literal bytes object, the scanner scans it too.
var nestedLoaders = map[string]bool{
	"pickle.loads": true, "_pickle.loads": true, "cPickle.loads": true, "dill.loads": true,
	"torch.storage._load_from_bytes": true,
}

// build records BUILD: target.__setstate__(state) or a __dict__ update.
func (m *machine) build(target, state *node) {
	switch target.kind {
	case kGlobal:
		target.glob.escalate("BUILD sets attributes on the module or class itself (it can replace functions other code calls)")
		target.glob.addCall(render(target, 80) + ".__setstate__(" + render(state, 160) + ")")
	case kCall:
		if head := headGlobal(target); head != nil {
			head.addCall(render(target, 80) + ".__setstate__(" + render(state, 160) + ")")
		}
	case kOpaque:
	default:
		// BUILD on a plain container: CPython sets attributes on it via __dict__,
		// which fails for builtin types.
		m.anomaly("BUILD on a %s", kindName(target.kind))
	}
}

// addItems records APPEND(S)/SETITEM(S)/ADDITEMS into a container. On a call
// result it is a method call on an arbitrary object; on a global it mutates a
// module-level object, which only an attack does.
func (m *machine) addItems(target *node, method string, items []*node) {
	switch target.kind {
	case kList, kDict, kSet:
		if m.fs != nil && m.fs.chargeItems(len(items)) != nil {
			return
		}
		target.items = append(target.items, items...)
	case kGlobal:
		target.glob.escalate("mutates a module-level object with " + method)
		target.glob.addCall(render(target, 80) + "." + method + "(" + renderList(items, 160) + ")")
	case kCall:
		if head := headGlobal(target); head != nil && head.class != Safe {
			head.addCall(render(target, 60) + "." + method + "(" + renderList(items, 120) + ")")
		}
	case kOpaque:
	default:
		m.anomaly("%s on a %s", method, kindName(target.kind))
	}
}

// headGlobal returns the global at the root of a callable expression:
// G for G, G(…), G(…)(…).
func headGlobal(n *node) *finding {
	for depth := 0; n != nil && depth < 64; depth++ {
		switch n.kind {
		case kGlobal:
			return n.glob
		case kCall:
			n = n.fn
		case kPersID:
			// torch's legacy persistent_load returns the class for
			// ('module', cls, source_file, source); storages are not callable.
			if len(n.items) == 1 && n.items[0].kind == kTuple && len(n.items[0].items) > 1 {
				if s, _ := constString(n.items[0].items[0]); s == "module" {
					n = n.items[0].items[1]
					continue
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

func markDiscarded(n *node) {
	if n != nil && n.kind == kCall && n.call != nil {
		n.call.discarded = true
	}
}

func tupleItems(n *node) []*node {
	if n.kind == kTuple {
		return n.items
	}
	return []*node{n}
}

func constString(n *node) (string, bool) {
	if n.kind != kConst {
		return "", false
	}
	s, ok := n.val.(string)
	return s, ok
}

func latin1(b []byte) string {
	for _, c := range b {
		if c >= 0x80 {
			r := make([]rune, len(b))
			for i, c := range b {
				r[i] = rune(c)
			}
			return string(r)
		}
	}
	return string(b)
}

func kindName(k nodeKind) string {
	return [...]string{"constant", "global", "call result", "tuple", "list", "dict", "set", "persistent id", "unknown value"}[k]
}

func (f *finding) addCall(text string) *callRec {
	for _, c := range f.calls {
		if c.text == text {
			return c // the same call again (OrderedDict() per module): one line is enough
		}
	}
	if len(f.calls) >= maxCallsPerGlobal {
		f.moreCalls++
		return nil
	}
	c := &callRec{text: text}
	f.calls = append(f.calls, c)
	return c
}

func (f *finding) escalate(reason string) {
	if f.class < Dangerous {
		f.class = Dangerous
		f.reason = reason
	}
}

// render writes a short Python-like repr of n, at most about max bytes.
func render(n *node, max int) string {
	var sb strings.Builder
	visits := maxRenderVisits
	renderTo(&sb, n, max, 0, &visits)
	return clip(sb.String(), max)
}

// clip cuts s to about max bytes at a rune boundary, marking the cut with "…".
// Every rendering is clipped, so a value rendered from cached parts stays as
// short as its budget however the parts nest.
func clip(s string, max int) string {
	if len(s) <= max+8 {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func renderList(items []*node, max int) string {
	var sb strings.Builder
	visits := maxRenderVisits
	for i, it := range items {
		if i > 0 {
			sb.WriteString(", ")
		}
		if sb.Len() > max {
			sb.WriteString("…")
			break
		}
		renderTo(&sb, it, max-sb.Len(), 1, &visits)
	}
	return clip(sb.String(), max)
}

// maxRenderVisits bounds the values one rendering looks at, so that shared
// structures (a wide tree reached through the memo a million times) cost a
// constant per call, not their logical size.
const maxRenderVisits = 48

func renderTo(sb *strings.Builder, n *node, budget, depth int, visits *int) {
	*visits--
	if budget <= 0 || depth > 4 || *visits < 0 {
		sb.WriteString("…")
		return
	}
	// The shared opaque node is never written: scans may run concurrently.
	if n.kind != kConst && n.kind != kGlobal && n.kind != kOpaque {
		key := budget<<4 | depth + 1
		if n.shownKey == key {
			sb.WriteString(n.shown)
			return
		}
		var sub strings.Builder
		renderNode(&sub, n, budget, depth, visits)
		n.shown, n.shownKey = clip(sub.String(), budget), key
		sb.WriteString(n.shown)
		return
	}
	renderNode(sb, n, budget, depth, visits)
}

func renderNode(sb *strings.Builder, n *node, budget, depth int, visits *int) {
	switch n.kind {
	case kConst:
		switch v := n.val.(type) {
		case nil:
			sb.WriteString("None")
		case bool:
			if v {
				sb.WriteString("True")
			} else {
				sb.WriteString("False")
			}
		case int64:
			sb.WriteString(strconv.FormatInt(v, 10))
		case *big.Int:
			s := v.String()
			if len(s) > 40 {
				s = s[:40] + "…"
			}
			sb.WriteString(s)
		case float64:
			sb.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		case string:
			sb.WriteString(pyQuote(v, budget))
		case []byte:
			sb.WriteString(pyBytes(v, budget))
		case pickle.ByteArray:
			sb.WriteString("bytearray(" + pyBytes(v, budget) + ")")
		default:
			fmt.Fprintf(sb, "%v", v)
		}
	case kGlobal:
		sb.WriteString(n.glob.module)
		sb.WriteByte('.')
		sb.WriteString(n.glob.name)
	case kCall:
		renderTo(sb, n.fn, budget/2, depth+1, visits)
		sb.WriteByte('(')
		for i, a := range n.items {
			if i > 0 {
				sb.WriteString(", ")
			}
			if i >= 6 {
				sb.WriteString("…")
				break
			}
			renderTo(sb, a, budget/3, depth+1, visits)
		}
		sb.WriteByte(')')
	case kTuple, kList, kSet, kDict:
		open, close := "(", ")"
		switch n.kind {
		case kList:
			open, close = "[", "]"
		case kSet, kDict:
			open, close = "{", "}"
		}
		sb.WriteString(open)
		for i, a := range n.items {
			if i > 0 {
				if n.kind == kDict && i%2 == 1 {
					sb.WriteString(": ")
				} else {
					sb.WriteString(", ")
				}
			}
			if i >= 8 {
				sb.WriteString("…")
				break
			}
			renderTo(sb, a, budget/3, depth+1, visits)
		}
		if n.kind == kTuple && len(n.items) == 1 {
			sb.WriteByte(',')
		}
		sb.WriteString(close)
	case kPersID:
		sb.WriteString("persistent_load(")
		if len(n.items) == 1 {
			renderTo(sb, n.items[0], budget/2, depth+1, visits)
		}
		sb.WriteString(")")
	default:
		sb.WriteString("?")
	}
}

// pyBytes quotes b like Python's repr of bytes, cut to about max bytes.
func pyBytes(b []byte, max int) string {
	var sb strings.Builder
	sb.WriteString("b'")
	for i, c := range b {
		if i >= max {
			sb.WriteString("…")
			break
		}
		switch {
		case c == '\'' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('\'')
	return sb.String()
}

// pyQuote quotes s like Python's repr of a str, cut to about max bytes.
func pyQuote(s string, max int) string {
	cut := false
	if len(s) > max {
		s = s[:max]
		cut = true
	}
	var sb strings.Builder
	sb.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\'' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r >= 0x7f && r < 0xa0 || r == utf8.RuneError:
			fmt.Fprintf(&sb, `\x%02x`, r)
		default:
			sb.WriteRune(r)
		}
	}
	if cut {
		sb.WriteString("…")
	}
	sb.WriteByte('\'')
	return sb.String()
}
