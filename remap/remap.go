package remap

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// ErrCollision is returned when two keys would be renamed to the same key.
var ErrCollision = errors.New("remap: two keys map to the same name")

// ErrNoStateDict is returned by Tree when the value tree holds no state_dict.
var ErrNoStateDict = errors.New("remap: no state_dict (a dict of names to tensors) in the value tree")

// ErrRule is returned for a malformed rule.
var ErrRule = errors.New("remap: invalid rule")

// Kind says what a Rule does.
type Kind uint8

// The rule kinds.
const (
	KindStripPrefix Kind = iota + 1 // remove Prefix from keys that start with it
	KindAddPrefix                   // put Prefix in front of every key
	KindRename                      // replace Pattern's matches with Replacement
	KindDrop                        // remove keys matching Pattern
)

// Rule is one step of a remapping.
type Rule struct {
	Kind        Kind
	Prefix      string         // KindStripPrefix, KindAddPrefix
	Pattern     *regexp.Regexp // KindRename, KindDrop
	Replacement string         // KindRename, in regexp.Expand syntax ($1, ${name})
}

// StripPrefix returns a rule removing prefix from the keys that start with it.
func StripPrefix(prefix string) Rule { return Rule{Kind: KindStripPrefix, Prefix: prefix} }

// AddPrefix returns a rule putting prefix in front of every key.
func AddPrefix(prefix string) Rule { return Rule{Kind: KindAddPrefix, Prefix: prefix} }

// pyGroup matches Python-style back references (\1) in replacements.
var pyGroup = regexp.MustCompile(`\\(\d+)`)

// Rename returns a rule replacing every match of pattern (Go regexp syntax) in
// a key with replacement, where $1 / ${1} (or Python's \1) name groups.
func Rename(pattern, replacement string) (Rule, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return Rule{}, fmt.Errorf("%w: rename pattern %q: %v", ErrRule, pattern, err)
	}
	return Rule{Kind: KindRename, Pattern: re, Replacement: pyGroup.ReplaceAllString(replacement, "$${$1}")}, nil
}

// ParseRename parses the CLI form "PATTERN=REPLACEMENT" (split at the first '=').
func ParseRename(spec string) (Rule, error) {
	pat, repl, ok := strings.Cut(spec, "=")
	if !ok || pat == "" {
		return Rule{}, fmt.Errorf("%w: rename %q is not PATTERN=REPLACEMENT", ErrRule, spec)
	}
	return Rename(pat, repl)
}

// Drop returns a rule removing every key matched by pattern.
func Drop(pattern string) (Rule, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return Rule{}, fmt.Errorf("%w: drop pattern %q: %v", ErrRule, pattern, err)
	}
	return Rule{Kind: KindDrop, Pattern: re}, nil
}

// String describes the rule as the CLI flag that makes it.
func (r Rule) String() string {
	switch r.Kind {
	case KindStripPrefix:
		return "--strip-prefix " + r.Prefix
	case KindAddPrefix:
		return "--add-prefix " + r.Prefix
	case KindRename:
		return "--rename " + r.Pattern.String() + "=" + r.Replacement
	case KindDrop:
		return "--drop " + r.Pattern.String()
	}
	return "invalid rule"
}

// Rules is an ordered list of rules.
type Rules []Rule

// Key returns the new name of key, and false if a rule drops it.
func (rs Rules) Key(key string) (string, bool) {
	for _, r := range rs {
		switch r.Kind {
		case KindStripPrefix:
			key = strings.TrimPrefix(key, r.Prefix)
		case KindAddPrefix:
			key = r.Prefix + key
		case KindRename:
			key = r.Pattern.ReplaceAllString(key, r.Replacement)
		case KindDrop:
			if r.Pattern.MatchString(key) {
				return "", false
			}
		}
	}
	return key, true
}

// metaKey maps a _metadata module prefix the way its parameters' keys map:
// the prefix "fc1" is renamed as the key "fc1." would be (the root "" as "").
// It never drops an entry. PyTorch's consume_prefix_in_state_dict_if_present
// treats _metadata the same way for a stripped prefix.
func (rs Rules) metaKey(prefix string) string {
	k := prefix
	if k != "" {
		k += "."
	}
	for _, r := range rs {
		if r.Kind == KindDrop {
			continue
		}
		k, _ = Rules{r}.Key(k)
	}
	return strings.TrimSuffix(k, ".")
}

// Change is one key's fate.
type Change struct {
	From, To string // To is "" when dropped
	Dropped  bool
}

// StateDict returns a new state_dict with the rules applied to every key (in
// the original order) and to the _metadata prefixes; tensors are shared, not
// copied. It fails with ErrCollision if two keys end up with the same name.
func (rs Rules) StateDict(sd *pth.StateDict) (*pth.StateDict, []Change, error) {
	out := &pth.StateDict{Tensors: make(map[string]*tensor.Tensor, len(sd.Keys))}
	var changes []Change
	from := map[string]string{}
	for _, k := range sd.Keys {
		nk, keep := rs.Key(k)
		if !keep {
			changes = append(changes, Change{From: k, Dropped: true})
			continue
		}
		if prev, dup := from[nk]; dup {
			return nil, nil, fmt.Errorf("%w: %q and %q both become %q", ErrCollision, prev, k, nk)
		}
		from[nk] = k
		out.Keys = append(out.Keys, nk)
		out.Tensors[nk] = sd.Tensors[k]
		if nk != k {
			changes = append(changes, Change{From: k, To: nk})
		}
	}
	if sd.Metadata != nil {
		out.Metadata = rs.metadata(sd.Metadata)
	}
	return out, changes, nil
}

func (rs Rules) metadata(meta *pickle.Dict) *pickle.Dict {
	out := pickle.NewDict()
	for _, e := range meta.Entries {
		if k, ok := e.Key.(string); ok {
			out.Set(rs.metaKey(k), e.Value)
		} else {
			out.Set(e.Key, e.Value)
		}
	}
	return out
}

// isStateDict reports whether d looks like a state_dict: non-empty, string keys, tensor values.
func isStateDict(d *pickle.Dict) bool {
	if d == nil || d.Len() == 0 {
		return false
	}
	for _, e := range d.Entries {
		if _, ok := e.Key.(string); !ok {
			return false
		}
		switch e.Value.(type) {
		case *tensor.Tensor, *pth.Parameter:
		default:
			return false
		}
	}
	return true
}

func (rs Rules) dict(d *pickle.Dict, where string) (*pickle.Dict, []Change, error) {
	out := pickle.NewDict()
	var changes []Change
	from := map[string]string{}
	for _, e := range d.Entries {
		k := e.Key.(string)
		nk, keep := rs.Key(k)
		if !keep {
			changes = append(changes, Change{From: join(where, k), Dropped: true})
			continue
		}
		if prev, dup := from[nk]; dup {
			return nil, nil, fmt.Errorf("%w: %q and %q both become %q (in %s)", ErrCollision, prev, k, nk, orRoot(where))
		}
		from[nk] = k
		out.Set(nk, e.Value)
		if nk != k {
			changes = append(changes, Change{From: join(where, k), To: join(where, nk)})
		}
	}
	return out, changes, nil
}

func join(where, k string) string {
	if where == "" {
		return k
	}
	return where + "/" + k
}

func orRoot(where string) string {
	if where == "" {
		return "the root"
	}
	return where
}

// Tree applies the rules to every state_dict inside the value tree v (dicts
// and OrderedDicts of string keys to tensors, at any depth inside dicts, lists
// and tuples) and returns the new tree, which shares every other value with v.
// Changes name keys by their path ("state_dict/module.fc1.weight").
// Nothing is changed in v itself. A tree without any state_dict gives ErrNoStateDict.
func (rs Rules) Tree(v pth.Value) (pth.Value, []Change, error) {
	var all []Change
	found := 0
	var visit func(v pth.Value, where string, depth int) (pth.Value, error)
	visit = func(v pth.Value, where string, depth int) (pth.Value, error) {
		if depth > 1000 {
			return nil, fmt.Errorf("remap: value tree nested deeper than 1000 at %s", orRoot(where))
		}
		switch x := v.(type) {
		case *pth.OrderedDict:
			if isStateDict(x.Dict) {
				d, ch, err := rs.dict(x.Dict, where)
				if err != nil {
					return nil, err
				}
				all = append(all, ch...)
				found++
				nd := &pth.OrderedDict{Dict: d, Attrs: x.Attrs}
				if x.Metadata != nil {
					nd.Metadata = rs.metadata(x.Metadata)
				}
				return nd, nil
			}
			d, err := visitDict(x.Dict, where, depth, visit)
			if err != nil {
				return nil, err
			}
			return &pth.OrderedDict{Dict: d, Metadata: x.Metadata, Attrs: x.Attrs}, nil
		case *pickle.Dict:
			if isStateDict(x) {
				d, ch, err := rs.dict(x, where)
				all = append(all, ch...)
				found++
				return d, err
			}
			return visitDict(x, where, depth, visit)
		case *pickle.List:
			out := &pickle.List{Items: make([]pickle.Value, len(x.Items))}
			for i, it := range x.Items {
				nv, err := visit(it, join(where, fmt.Sprint(i)), depth+1)
				if err != nil {
					return nil, err
				}
				out.Items[i] = nv
			}
			return out, nil
		case pickle.Tuple:
			out := make(pickle.Tuple, len(x))
			for i, it := range x {
				nv, err := visit(it, join(where, fmt.Sprint(i)), depth+1)
				if err != nil {
					return nil, err
				}
				out[i] = nv
			}
			return out, nil
		}
		return v, nil
	}
	nv, err := visit(v, "", 0)
	if err != nil {
		return nil, nil, err
	}
	if found == 0 {
		return nil, nil, ErrNoStateDict
	}
	return nv, all, nil
}

func visitDict(d *pickle.Dict, where string, depth int, visit func(pth.Value, string, int) (pth.Value, error)) (*pickle.Dict, error) {
	out := pickle.NewDict()
	for _, e := range d.Entries {
		nv, err := visit(e.Value, join(where, fmt.Sprint(e.Key)), depth+1)
		if err != nil {
			return nil, err
		}
		out.Set(e.Key, nv)
	}
	return out, nil
}

// LoadStateDict reads the state_dict in path (see pth.LoadStateDict) and applies the rules.
func LoadStateDict(path string, rules Rules) (*pth.StateDict, error) {
	sd, err := pth.LoadStateDict(path)
	if err != nil {
		return nil, err
	}
	out, _, err := rules.StateDict(sd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
