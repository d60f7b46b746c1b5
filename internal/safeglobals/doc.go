// Package safeglobals holds PyTorch's weights-only policy for pickle globals: the
// Python 2→3 name mapping every unpickler applies first, the modules that are always
// blocked, and the allow-list of torch.load(weights_only=True) as in PyTorch's
// torch/_weights_only_unpickler.py (current main, a superset of 1.13's list).
//
// It is shared by the loader's weights-only mode and by the scanner, so that "safe"
// means the same thing in both.
package safeglobals
