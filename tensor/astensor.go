package tensor

// AsTensor returns t itself. Types that embed a *Tensor (pth.Parameter) get it by
// promotion, so packages that cannot import the wrapper's package (modtree cannot
// import pth) reach the embedded tensor through
// interface{ AsTensor() *tensor.Tensor } instead of reflection.
func (t *Tensor) AsTensor() *Tensor { return t }
