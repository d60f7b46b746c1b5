package modtree

// classVersions lists the classes whose _version (a class attribute, so never in the
// pickle) is not nn.Module's 1, as found in PyTorch 1.13 and torchvision 0.14
// (`grep -rn "_version =" torch/nn torch/ao torchvision`). state_dict records it in
// _metadata and load_state_dict hands it to _load_from_state_dict, which is how
// BatchNorm tells checkpoints without num_batches_tracked apart.
//
// User classes that set their own _version cannot be known from the file; they get 1,
// unless the instance carries _version in its __dict__.
var classVersions = map[string]int64{
	"torch.nn.modules.batchnorm._NormBase":             2,
	"torch.nn.modules.batchnorm._BatchNorm":            2,
	"torch.nn.modules.batchnorm._LazyNormBase":         2,
	"torch.nn.modules.batchnorm.BatchNorm1d":           2,
	"torch.nn.modules.batchnorm.BatchNorm2d":           2,
	"torch.nn.modules.batchnorm.BatchNorm3d":           2,
	"torch.nn.modules.batchnorm.LazyBatchNorm1d":       2,
	"torch.nn.modules.batchnorm.LazyBatchNorm2d":       2,
	"torch.nn.modules.batchnorm.LazyBatchNorm3d":       2,
	"torch.nn.modules.batchnorm.SyncBatchNorm":         2,
	"torch.nn.modules.instancenorm._InstanceNorm":      2,
	"torch.nn.modules.instancenorm.InstanceNorm1d":     2,
	"torch.nn.modules.instancenorm.InstanceNorm2d":     2,
	"torch.nn.modules.instancenorm.InstanceNorm3d":     2,
	"torch.nn.modules.instancenorm.LazyInstanceNorm1d": 2,
	"torch.nn.modules.instancenorm.LazyInstanceNorm2d": 2,
	"torch.nn.modules.instancenorm.LazyInstanceNorm3d": 2,

	"torch.nn.intrinsic.qat.modules.conv_fused.ConvBn1d":      2,
	"torch.nn.intrinsic.qat.modules.conv_fused.ConvBn2d":      2,
	"torch.nn.intrinsic.qat.modules.conv_fused.ConvBn3d":      2,
	"torch.nn.intrinsic.qat.modules.conv_fused.ConvBnReLU1d":  2,
	"torch.nn.intrinsic.qat.modules.conv_fused.ConvBnReLU2d":  2,
	"torch.nn.intrinsic.qat.modules.conv_fused.ConvBnReLU3d":  2,
	"torch.ao.nn.quantized.modules.linear.LinearPackedParams": 3,
	"torch.ao.nn.quantized.modules.linear.Linear":             3,
	"torch.ao.nn.quantized.dynamic.modules.linear.Linear":     4,
	"torch.ao.nn.quantized.dynamic.modules.rnn.RNNBase":       2,
	"torch.ao.nn.quantized.dynamic.modules.rnn.LSTM":          2,
	"torch.ao.nn.quantized.dynamic.modules.rnn.GRU":           2,

	"torchvision.ops.feature_pyramid_network.FeaturePyramidNetwork":            2,
	"torchvision.models.vision_transformer.MLPBlock":                           2,
	"torchvision.models.densenet._DenseBlock":                                  2,
	"torchvision.models.quantization.mobilenetv3.QuantizableSqueezeExcitation": 2,
	"torchvision.models.mnasnet.MNASNet":                                       2,
	"torchvision.models._utils.IntermediateLayerGetter":                        2,
	"torchvision.models.detection.rpn.RPNHead":                                 2,
}

// classVersion returns the _version PyTorch's class has.
func classVersion(class string) int64 {
	if v, ok := classVersions[class]; ok {
		return v
	}
	return 1
}
