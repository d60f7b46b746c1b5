package pickle

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sprint renders a value tree in Python-like notation, for people: None, True,
// 123, 1.5, 'text', b'bytes', (1,), [1, 2], {'k': v}, {1, 2}, frozenset({1}),
// module.name for globals, and calls for objects:
//
//	f(args)                 REDUCE, OBJ, INST
//	cls.__new__(args)       NEWOBJ, NEWOBJ_EX (with k=v keyword arguments)
//
// followed by what was recorded on the object: .extend([…]) for APPEND(S),
// .update({…}) for SETITEM(S), .__setstate__(state) for BUILD. A container met
// again inside itself prints as [...], {...} or ... as in Python; Ext codes
// print as ext(code) and persistent ids as persistent_id(id).
func Sprint(v Value) string {
	p := &printer{onPath: map[identityKey]bool{}}
	p.print(v)
	return p.b.String()
}

type printer struct {
	b      strings.Builder
	onPath map[identityKey]bool
}

func (p *printer) enter(v Value, cycle string) bool {
	k, ok := identity(v)
	if !ok {
		return true
	}
	if p.onPath[k] {
		p.b.WriteString(cycle)
		return false
	}
	p.onPath[k] = true
	return true
}

func (p *printer) leave(v Value) {
	if k, ok := identity(v); ok {
		delete(p.onPath, k)
	}
}

func (p *printer) list(items []Value) {
	for i, it := range items {
		if i > 0 {
			p.b.WriteString(", ")
		}
		p.print(it)
	}
}

func (p *printer) entries(es []Entry) {
	p.b.WriteByte('{')
	for i, e := range es {
		if i > 0 {
			p.b.WriteString(", ")
		}
		p.print(e.Key)
		p.b.WriteString(": ")
		p.print(e.Value)
	}
	p.b.WriteByte('}')
}

func (p *printer) print(v Value) {
	switch x := v.(type) {
	case nil:
		p.b.WriteString("None")
	case bool:
		if x {
			p.b.WriteString("True")
		} else {
			p.b.WriteString("False")
		}
	case int64:
		p.b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		if x.BitLen() > maxDecimalBits {
			// CPython also refuses to format ints past 4300 digits.
			fmt.Fprintf(&p.b, "<int of %d bits>", x.BitLen())
		} else {
			p.b.WriteString(x.String())
		}
	case float64:
		p.b.WriteString(pyFloat(x))
	case string:
		p.b.WriteString(pyStr(x))
	case []byte:
		p.b.WriteString(pyBytes(x))
	case ByteArray:
		p.b.WriteString("bytearray(" + pyBytes(x) + ")")
	case Tuple:
		if !p.enter(x, "(...)") {
			return
		}
		p.b.WriteByte('(')
		p.list(x)
		if len(x) == 1 {
			p.b.WriteByte(',')
		}
		p.b.WriteByte(')')
		p.leave(x)
	case *List:
		if !p.enter(x, "[...]") {
			return
		}
		p.b.WriteByte('[')
		p.list(x.Items)
		p.b.WriteByte(']')
		p.leave(x)
	case *Dict:
		if !p.enter(x, "{...}") {
			return
		}
		p.entries(x.Entries)
		p.leave(x)
	case *Set:
		if !p.enter(x, "{...}") {
			return
		}
		switch {
		case x.Frozen:
			p.b.WriteString("frozenset(")
			if len(x.Items) > 0 {
				p.b.WriteByte('{')
				p.list(x.Items)
				p.b.WriteByte('}')
			}
			p.b.WriteByte(')')
		case len(x.Items) == 0:
			p.b.WriteString("set()")
		default:
			p.b.WriteByte('{')
			p.list(x.Items)
			p.b.WriteByte('}')
		}
		p.leave(x)
	case Global:
		p.b.WriteString(x.String())
	case Ext:
		fmt.Fprintf(&p.b, "ext(%d)", x.Code)
	case PersistentID:
		p.b.WriteString("persistent_id(")
		p.print(x.ID)
		p.b.WriteByte(')')
	case *Object:
		if !p.enter(x, "...") {
			return
		}
		p.print(x.Callable)
		if x.Kind == NewObj || x.Kind == NewObjEx {
			p.b.WriteString(".__new__")
		}
		p.b.WriteByte('(')
		p.list(x.Args)
		if x.Kwargs != nil {
			for i, e := range x.Kwargs.Entries {
				if i > 0 || len(x.Args) > 0 {
					p.b.WriteString(", ")
				}
				if s, ok := e.Key.(string); ok {
					p.b.WriteString(s)
				} else {
					p.print(e.Key)
				}
				p.b.WriteByte('=')
				p.print(e.Value)
			}
		}
		p.b.WriteByte(')')
		if len(x.Appended) > 0 {
			p.b.WriteString(".extend([")
			p.list(x.Appended)
			p.b.WriteString("])")
		}
		if len(x.Items) > 0 {
			p.b.WriteString(".update(")
			p.entries(x.Items)
			p.b.WriteByte(')')
		}
		if x.Built {
			p.b.WriteString(".__setstate__(")
			p.print(x.State)
			p.b.WriteByte(')')
		}
		p.leave(x)
	default:
		fmt.Fprintf(&p.b, "<%T>", v)
	}
}

// maxDecimalBits is about CPython's 4300-digit limit for int → str.
const maxDecimalBits = 14000

// pyFloat formats f like Python's repr(float).
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX, shortest round-trip digits
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyStr quotes s roughly like Python's repr(str).
func pyStr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, "\\x%02x", s[i]) // not UTF-8 (e.g. a lone surrogate as WTF-8)
			i++
			continue
		}
		i += size
		switch {
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString("\\n")
		case r == '\r':
			b.WriteString("\\r")
		case r == '\t':
			b.WriteString("\\t")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0x100 && !unicode.IsPrint(r)):
			fmt.Fprintf(&b, "\\x%02x", r)
		case !unicode.IsPrint(r) && r < 0x10000:
			fmt.Fprintf(&b, "\\u%04x", r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, "\\U%08x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyBytes quotes b like Python's repr(bytes).
func pyBytes(x []byte) string {
	q := byte('\'')
	if strings.IndexByte(string(x), '\'') >= 0 && strings.IndexByte(string(x), '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteString("b")
	b.WriteByte(q)
	for _, c := range x {
		switch {
		case c == '\\' || c == q:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString("\\n")
		case c == '\r':
			b.WriteString("\\r")
		case c == '\t':
			b.WriteString("\\t")
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}
