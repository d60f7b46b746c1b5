package pickle

// AsDict returns d itself. Types that embed a *Dict (pth.OrderedDict, pth.Counter)
// get it by promotion, so packages that cannot import the wrapper's package (modtree
// cannot import pth) reach the embedded dict through
// interface{ AsDict() *pickle.Dict } instead of reflection.
func (d *Dict) AsDict() *Dict { return d }
