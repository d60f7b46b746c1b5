package pickle

import (
	"errors"
	"strings"
	"testing"
)

// TestDepthLimitExact: the decoder tracks each value's height as it builds it
// (no walk of the result); this checks the limit at its boundary for every way
// of nesting a value one level deeper, including growth of a container after it
// was shared through the memo, against the height known by construction.
func TestDepthLimitExact(t *testing.T) {
	const maxDepth = 40
	// Each wrapper turns the value x on top of the stack into a container one
	// level taller: prefix + x + suffix.
	wrappers := map[string][2]string{
		"tuple1":    {"", "\x85"},
		"tuple":     {"(", "t"},
		"list":      {"(", "l"},
		"append":    {"]", "a"},
		"appends":   {"](", "e"},
		"dict":      {"(K\x01", "d"},
		"setitem":   {"}K\x01", "s"},
		"setitems":  {"}(K\x01", "u"},
		"frozenset": {"(", "\x91"},
		"additems":  {"\x8f(", "\x90"},
		"reduce":    {"cm\nf\n", "\x85R"},
		"newobj":    {"cm\nf\n", "\x85\x81"},
		"newobj_ex": {"cm\nf\n", "\x85}\x92"},
		"obj":       {"(cm\nf\n", "o"},
		"inst":      {"(", "im\nf\n"},
		"build":     {"cm\nf\n)R", "b"},
		"obj_items": {"cm\nf\n)RK\x01", "s"},
		"obj_apnd":  {"cm\nf\n)R", "a"},
		"persid":    {"", "Q"},
		// A list L shared through the memo grows after it was nested in (L,):
		// L, (L,), L, then x of height n-2 appended to L, which is popped: the
		// result is (L,), L = [x], of height n (special-cased below).
		"shared_grow": {},
	}
	for name, w := range wrappers {
		for _, n := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
			// A None leaf has height 0; n wrappers give height n.
			height := n
			data := "\x80\x04" + strings.Repeat(w[0], n) + "N" + strings.Repeat(w[1], n) + "."
			switch name {
			case "shared_grow":
				height = n
				data = "\x80\x04]q\x00h\x00\x85h\x00N" + strings.Repeat("\x85", n-2) + "a0."
			}
			lim := DefaultLimits(int64(len(data)))
			lim.MaxDepth = maxDepth
			_, err := Unmarshal([]byte(data), &Options{Limits: lim})
			tooDeep := height > maxDepth
			if tooDeep != errors.Is(err, ErrLimit) || (!tooDeep && err != nil) {
				t.Errorf("%s ×%d (height %d, MaxDepth %d): err = %v", name, n, height, maxDepth, err)
			}
			// The walk of the result (the definition of the limit) agrees.
			lim.MaxDepth = 1000
			v, err := Unmarshal([]byte(data), &Options{Limits: lim})
			if err != nil {
				t.Fatalf("%s ×%d with MaxDepth 1000: %v", name, n, err)
			}
			w := &walker{budget: -1, maxDepth: maxDepth}
			if _, h, err := w.walk(v, 0); tooDeep != (err != nil) || (err == nil && int(h) != height) {
				t.Errorf("%s ×%d: walker height %d, err %v; want height %d", name, n, h, err, height)
			}
		}
	}
}
