package modtree

import (
	"testing"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Shapes of pth's wrappers (which modtree cannot import): Parameter embeds a
// *tensor.Tensor next to its own RequiresGrad, OrderedDict embeds a *pickle.Dict.
type (
	param struct {
		*tensor.Tensor
		RequiresGrad bool
	}
	valueParam struct{ tensor.Tensor }
	ordered    struct {
		*pickle.Dict
		Metadata *pickle.Dict
	}
)

func TestWrappers(t *testing.T) {
	tt := &tensor.Tensor{DType: tensor.Float32, Shape: []int64{2}}
	// The embedded tensor comes back as is: the wrapper's RequiresGrad is not copied.
	if got, ok := wrappedTensor(&param{Tensor: tt, RequiresGrad: true}); !ok || got != tt || got.RequiresGrad {
		t.Errorf("param: got %p %v, want %p with RequiresGrad false", got, ok, tt)
	}
	vp := &valueParam{}
	if got, ok := wrappedTensor(vp); !ok || got != &vp.Tensor {
		t.Errorf("embedded tensor value: got %p %v, want %p", got, ok, &vp.Tensor)
	}
	d := pickle.NewDict()
	if got, ok := wrappedDict(&ordered{Dict: d, Metadata: pickle.NewDict()}); !ok || got != d {
		t.Errorf("ordered dict: got %p %v, want the embedded %p", got, ok, d)
	}
	// Nil wrappers, nil embedded values and unrelated structs hold nothing.
	for _, v := range []pickle.Value{(*param)(nil), &param{}, struct{ T *tensor.Tensor }{tt}, "x"} {
		if got, ok := wrappedTensor(v); ok || got != nil {
			t.Errorf("wrappedTensor(%#v) = %p, %v", v, got, ok)
		}
	}
	for _, v := range []pickle.Value{(*ordered)(nil), &ordered{Metadata: d}, &struct{ D *pickle.Dict }{d}} {
		if got, ok := wrappedDict(v); ok || got != nil {
			t.Errorf("wrappedDict(%#v) = %p, %v", v, got, ok)
		}
	}
}
