package modtree_test

import (
	"fmt"
	"os"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/modtree"
)

// Recover the module tree of a torch.save(model) file without the model's Python
// class, print it, and list its state_dict.
func ExampleParse() {
	f, err := pth.Open("../testdata/models/convbn_zip.pt", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	tree, err := modtree.Parse(f.Root)
	if err != nil {
		fmt.Println(err)
		return
	}
	tree.Fprint(os.Stdout)
	sd := tree.StateDict()
	for _, k := range sd.Keys {
		fmt.Println(k, sd.Tensors[k].DType, sd.Tensors[k].Shape)
	}
	// Output:
	// __main__.ConvBN [eval]
	//   offset: float32[3] (buffer)
	//   scratch: int64[2] (buffer, not persistent)
	//   (features): torch.nn.modules.container.Sequential [eval]
	//     (0): torch.nn.modules.conv.Conv2d(in_channels=3, out_channels=4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), transposed=False, output_padding=(0, 0), groups=1, padding_mode='zeros') [eval]
	//       weight: float32[4, 3, 3, 3]
	//     (1): torch.nn.modules.batchnorm.BatchNorm2d(num_features=4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True) [eval]
	//       weight: float32[4]
	//       bias: float32[4]
	//       running_mean: float32[4] (buffer)
	//       running_var: float32[4] (buffer)
	//       num_batches_tracked: int64[] (buffer)
	//     (2): torch.nn.modules.activation.ReLU(inplace=True) [eval]
	//     (3): torch.nn.modules.pooling.MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, return_indices=False, ceil_mode=False) [eval]
	//   (pool): torch.nn.modules.pooling.AdaptiveAvgPool2d(output_size=(1, 1)) [eval]
	//   (flatten): torch.nn.modules.flatten.Flatten(start_dim=1, end_dim=-1) [eval]
	//   (head): torch.nn.modules.linear.Linear(in_features=4, out_features=3) [eval]
	//     weight: float32[3, 4]
	//     bias: float32[3]
	// offset float32 [3]
	// features.0.weight float32 [4 3 3 3]
	// features.1.weight float32 [4]
	// features.1.bias float32 [4]
	// features.1.running_mean float32 [4]
	// features.1.running_var float32 [4]
	// features.1.num_batches_tracked int64 []
	// head.weight float32 [3 4]
	// head.bias float32 [3]
}
