package torchscript

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pthkit/pth/pickle"
)

// Class is what pth reads from a class definition in the archive's code/ text. The
// code is untrusted text: it is parsed line by line for the declarations below and
// never compiled or run.
type Class struct {
	// Name is the qualified name data.pkl uses: "__torch__.torch.nn.modules.linear.Linear",
	// "__torch__.___torch_mangle_4.SimpleNet".
	Name string
	// Base is the base class named in the definition: "Module" for nn.Modules;
	// "NamedTuple", "Enum", "Interface" or "ModuleInterface" otherwise.
	Base string
	// Parameters and Buffers are the __parameters__ and __buffers__ lists.
	Parameters []string
	Buffers    []string
	// Slots are the declared attributes, in the order of the code ("name : Type" and
	// `__annotations__["0"] = Type`).
	Slots []Slot
	// Constants are the `name : Final[T] = value` declarations (hyper-parameters such as
	// in_features that the C++ serializer folds into the code), in the order of the code.
	Constants []Constant
	// Methods are the names of the methods defined (forward, …).
	Methods []string
	// Record is the code record that defines the class ("code/__torch__/….py").
	Record string
}

// Slot is a declared attribute of a class.
type Slot struct {
	Name string
	Type string
}

// Constant is a `Final` class constant with its value parsed from the code.
type Constant struct {
	Name  string
	Type  string
	Value pickle.Value
}

// IsModule reports whether the class is an nn.Module.
func (c *Class) IsModule() bool { return c.Base == "Module" }

func (c *Class) isParameter(name string) bool { return contains(c.Parameters, name) }
func (c *Class) isBuffer(name string) bool    { return contains(c.Buffers, name) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// qualifierOf turns a code record path into the qualifier of the classes it defines:
// "code/__torch__/torch/nn/modules/linear.py" → "__torch__.torch.nn.modules.linear"
// (the inverse of qualifierToArchivePath in import_export_helpers.cpp).
func qualifierOf(record string) string {
	s := strings.TrimSuffix(strings.TrimPrefix(record, "code/"), ".py")
	return strings.ReplaceAll(s, "/", ".")
}

// parseCode reads the class definitions of one code record.
func parseCode(record, text string) ([]*Class, error) {
	qual := qualifierOf(record)
	var classes []*Class
	var cur *Class
	inMethods := false
	for i, line := range strings.Split(text, "\n") {
		lineNo := i + 1
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !strings.HasPrefix(line, " ") { // top level
			cur = nil
			if rest, ok := strings.CutPrefix(line, "class "); ok {
				name, base, ok := strings.Cut(strings.TrimSuffix(rest, ":"), "(")
				if !ok || !strings.HasSuffix(base, ")") {
					return nil, fmt.Errorf("%s line %d: class header %q: %w", record, lineNo, clip(line), ErrUnsupported)
				}
				cur = &Class{Name: qual + "." + strings.TrimSpace(name), Base: strings.TrimSuffix(base, ")"), Record: record}
				classes = append(classes, cur)
				inMethods = false
			}
			continue // top-level functions, imports, comments
		}
		if cur == nil {
			continue
		}
		body := strings.TrimPrefix(line, "  ")
		if strings.HasPrefix(body, " ") {
			continue // inside a method
		}
		if rest, ok := strings.CutPrefix(body, "def "); ok {
			name, _, _ := strings.Cut(rest, "(")
			cur.Methods = append(cur.Methods, strings.TrimSpace(name))
			inMethods = true
			continue
		}
		if inMethods || strings.HasPrefix(body, "@") {
			continue
		}
		if err := cur.parseDecl(body); err != nil {
			return nil, fmt.Errorf("%s line %d: %v: %w", record, lineNo, err, ErrUnsupported)
		}
	}
	return classes, nil
}

// parseDecl reads one class-level declaration.
func (c *Class) parseDecl(line string) error {
	switch {
	case strings.HasPrefix(line, "__parameters__ ="), strings.HasPrefix(line, "__buffers__ ="):
		_, rhs, _ := strings.Cut(line, "=")
		v, err := parseLiteral(strings.TrimSpace(rhs))
		if err != nil {
			return fmt.Errorf("%q: %v", clip(line), err)
		}
		l, ok := v.(*pickle.List)
		if !ok {
			return fmt.Errorf("%q is not a list", clip(line))
		}
		var names []string
		for _, it := range l.Items {
			s, ok := it.(string)
			if !ok {
				return fmt.Errorf("%q lists a non-string", clip(line))
			}
			names = append(names, s)
		}
		if strings.HasPrefix(line, "__parameters__") {
			c.Parameters = names
		} else {
			c.Buffers = names
		}
		return nil
	case strings.HasPrefix(line, "__annotations__ = "):
		return nil
	case strings.HasPrefix(line, "__annotations__["):
		// __annotations__["0"] = __torch__.torch.nn.modules.conv.Conv2d
		lhs, typ, ok := strings.Cut(line, "] = ")
		if !ok {
			return fmt.Errorf("annotation %q", clip(line))
		}
		v, err := parseLiteral(strings.TrimPrefix(lhs, "__annotations__["))
		name, isStr := v.(string)
		if err != nil || !isStr {
			return fmt.Errorf("annotation %q", clip(line))
		}
		c.Slots = append(c.Slots, Slot{Name: name, Type: strings.TrimSpace(typ)})
		return nil
	}
	name, typ, ok := strings.Cut(line, " : ")
	if !ok {
		// Other class-level statements (enum values, __slots__) carry nothing pth needs.
		return nil
	}
	name = strings.TrimSpace(name)
	if rest, ok := strings.CutPrefix(typ, "Final["); ok {
		// name : Final[T] = value
		i := strings.LastIndex(rest, "] = ")
		if i < 0 {
			return fmt.Errorf("constant %q", clip(line))
		}
		v, err := parseLiteral(strings.TrimSpace(rest[i+4:]))
		if err != nil {
			return fmt.Errorf("constant %s: %v", name, err)
		}
		c.Constants = append(c.Constants, Constant{Name: name, Type: rest[:i], Value: v})
		return nil
	}
	c.Slots = append(c.Slots, Slot{Name: name, Type: strings.TrimSpace(typ)})
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// parseLiteral parses the Python literals the TorchScript printer writes for constants:
// ints, floats (also inf/nan as written by the printer), True/False/None, "strings",
// tuples (a, b) and lists [a, b, ].
func parseLiteral(s string) (pickle.Value, error) {
	p := &litParser{s: s}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after literal", clip(p.s[p.i:]))
	}
	return v, nil
}

type litParser struct {
	s string
	i int
}

func (p *litParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *litParser) value(depth int) (pickle.Value, error) {
	if depth > 32 {
		return nil, fmt.Errorf("literal nested too deeply")
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("missing value")
	}
	switch c := p.s[p.i]; {
	case c == '(' || c == '[':
		close := byte(')')
		if c == '[' {
			close = ']'
		}
		p.i++
		var items []pickle.Value
		for {
			p.space()
			if p.i < len(p.s) && p.s[p.i] == close {
				p.i++
				break
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
			p.space()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == close {
				p.i++
				break
			}
			return nil, fmt.Errorf("expected , or %c", close)
		}
		if close == ']' {
			return &pickle.List{Items: items}, nil
		}
		return pickle.Tuple(items), nil
	case c == '"' || c == '\'':
		j := p.i + 1
		for j < len(p.s) && p.s[j] != c {
			if p.s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(p.s) {
			return nil, fmt.Errorf("unterminated string")
		}
		raw := p.s[p.i : j+1]
		p.i = j + 1
		if c == '\'' {
			raw = "\"" + strings.ReplaceAll(raw[1:len(raw)-1], "\"", "\\\"") + "\""
		}
		s, err := strconv.Unquote(raw)
		if err != nil {
			return nil, fmt.Errorf("string %s: %v", clip(raw), err)
		}
		return s, nil
	default:
		j := p.i
		for j < len(p.s) && !strings.ContainsRune(",)] ", rune(p.s[j])) {
			j++
		}
		tok := p.s[p.i:j]
		p.i = j
		switch tok {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return nil, nil
		case "inf":
			return strconv.ParseFloat("inf", 64)
		case "-inf":
			return strconv.ParseFloat("-inf", 64)
		case "nan":
			return strconv.ParseFloat("nan", 64)
		}
		if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(tok, 64); err == nil {
			return f, nil
		}
		return nil, fmt.Errorf("cannot read literal %q", clip(tok))
	}
}
