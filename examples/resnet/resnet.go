package main

import "github.com/pthkit/pth/nn"

// BasicBlock is torchvision.models.resnet.BasicBlock: two 3×3 convolutions with
// batch norm and a shortcut (a 1×1 strided convolution when the shape changes).
type BasicBlock struct {
	nn.ModuleBase
	Conv1, Conv2 *nn.Conv2d
	BN1, BN2     *nn.BatchNorm
	ReLU         *nn.ReLU
	Downsample   *nn.Sequential // nil when the shortcut is the identity
}

func conv3x3(in, out, stride int) *nn.Conv2d {
	return nn.NewConv2d(in, out, [2]int{3, 3}, nn.Conv2dOptions{Stride: [2]int{stride, stride}, Padding: [2]int{1, 1}, NoBias: true})
}

// NewBasicBlock builds a block from in to out channels with the given stride.
func NewBasicBlock(in, out, stride int) *BasicBlock {
	b := &BasicBlock{}
	b.Conv1 = nn.Add(b, "conv1", conv3x3(in, out, stride))
	b.BN1 = nn.Add(b, "bn1", nn.NewBatchNorm2d(out, nn.BatchNormOptions{}))
	b.ReLU = nn.Add(b, "relu", nn.NewReLU())
	b.ReLU.Inplace = true // torchvision: nn.ReLU(inplace=True)
	b.Conv2 = nn.Add(b, "conv2", conv3x3(out, out, 1))
	b.BN2 = nn.Add(b, "bn2", nn.NewBatchNorm2d(out, nn.BatchNormOptions{}))
	if stride != 1 || in != out {
		b.Downsample = nn.Add(b, "downsample", nn.NewSequential(
			nn.NewConv2d(in, out, [2]int{1, 1}, nn.Conv2dOptions{Stride: [2]int{stride, stride}, NoBias: true}),
			nn.NewBatchNorm2d(out, nn.BatchNormOptions{})))
	}
	return b
}

// Forward is relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
func (b *BasicBlock) Forward(x *nn.Tensor) *nn.Tensor {
	y := b.ReLU.Forward(b.BN1.Forward(b.Conv1.Forward(x)))
	y = b.BN2.Forward(b.Conv2.Forward(y))
	id := x
	if b.Downsample != nil {
		id = b.Downsample.Forward(x)
	}
	for i, v := range id.Data {
		y.Data[i] += v
	}
	return b.ReLU.Forward(y)
}

// ResNet is torchvision.models.ResNet with BasicBlocks (ResNet-18 and -34).
type ResNet struct {
	nn.ModuleBase
	Conv1   *nn.Conv2d
	BN1     *nn.BatchNorm
	ReLU    *nn.ReLU
	MaxPool *nn.MaxPool2d
	Layers  [4]*nn.Sequential
	AvgPool *nn.AdaptiveAvgPool2d
	FC      *nn.Linear
}

// NewResNet18 builds torchvision's resnet18(num_classes): the same modules,
// names and order, so its state_dict keys are torchvision's.
func NewResNet18(numClasses int) *ResNet { return newResNet([4]int{2, 2, 2, 2}, numClasses) }

func newResNet(blocks [4]int, numClasses int) *ResNet {
	m := &ResNet{}
	m.Conv1 = nn.Add(m, "conv1", nn.NewConv2d(3, 64, [2]int{7, 7}, nn.Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{3, 3}, NoBias: true}))
	m.BN1 = nn.Add(m, "bn1", nn.NewBatchNorm2d(64, nn.BatchNormOptions{}))
	m.ReLU = nn.Add(m, "relu", nn.NewReLU())
	m.ReLU.Inplace = true
	m.MaxPool = nn.Add(m, "maxpool", nn.NewMaxPool2d([2]int{3, 3}, [2]int{2, 2}, [2]int{1, 1}, false))
	in := 64
	for i, width := range []int{64, 128, 256, 512} {
		stride := 2
		if i == 0 {
			stride = 1
		}
		layer := nn.NewSequential()
		for j := 0; j < blocks[i]; j++ {
			layer.Append(NewBasicBlock(in, width, stride))
			in, stride = width, 1
		}
		m.Layers[i] = nn.Add(m, "layer"+string(rune('1'+i)), layer)
	}
	m.AvgPool = nn.Add(m, "avgpool", nn.NewAdaptiveAvgPool2d([2]int{1, 1}))
	m.FC = nn.Add(m, "fc", nn.NewLinear(512, numClasses, true))
	return m
}

// Forward maps an [N, 3, H, W] image batch to [N, classes] logits.
func (m *ResNet) Forward(x *nn.Tensor) *nn.Tensor {
	x = m.MaxPool.Forward(m.ReLU.Forward(m.BN1.Forward(m.Conv1.Forward(x))))
	for _, l := range m.Layers {
		x = l.Forward(x)
	}
	x = m.AvgPool.Forward(x)
	return m.FC.Forward(x.Reshape(x.Shape[0], -1))
}
