// Package remap renames the keys of state_dicts so that weights saved from one
// architecture load into another: strip a prefix (the "module." DataParallel
// adds), add one, rename by regular expression, drop keys.
//
// Rules apply in order to each key. They work on a pth.StateDict (including
// its _metadata prefixes) and on a whole value tree, where every state_dict
// found inside (a dict of string keys to tensors, e.g. a checkpoint's
// "state_dict" entry) is remapped and every other value is kept as it was.
package remap
