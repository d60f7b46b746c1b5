// Command simplenet is the seed's walk-through in Go: define a model, save its
// state_dict, build a fresh instance, load the parameters back, switch to
// evaluation mode and run inference.
//
//	go run ./examples/simplenet                      # the walk-through
//	go run ./examples/simplenet --save sd.pth        # save a seeded model's state_dict to sd.pth
//	go run ./examples/simplenet --load sd.pth --input x.npy --json
//	                                                 # load any state_dict pth reads, run x ([N,10] float32)
//
// The PyTorch code it mirrors:
//
//	class SimpleNet(nn.Module):
//	    def __init__(self, input_size, hidden_size, output_size):
//	        super().__init__()
//	        self.fc1 = nn.Linear(input_size, hidden_size)
//	        self.relu = nn.ReLU()
//	        self.fc2 = nn.Linear(hidden_size, output_size)
//	    def forward(self, x):
//	        return self.fc2(self.relu(self.fc1(x)))
//
//	model = SimpleNet(10, 5, 2)
//	torch.save(model.state_dict(), "simple_net_state_dict.pth")
//	loaded = SimpleNet(10, 5, 2)
//	loaded.load_state_dict(torch.load("simple_net_state_dict.pth"))
//	loaded.eval()
//	print(loaded(x))
package main
