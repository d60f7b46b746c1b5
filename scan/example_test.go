package scan_test

import (
	"fmt"

	"github.com/pthkit/pth/scan"
)

func Example() {
	// A protocol-0 pickle that would run os.system('id') when unpickled.
	payload := []byte("cos\nsystem\n(S'id'\ntR.")
	rep := scan.Bytes(payload, "evil.pkl", nil)
	fmt.Println(rep.Verdict)
	for _, g := range rep.Globals {
		fmt.Printf("%s.%s %s: %s\n", g.Module, g.Name, g.Class, g.Reason)
		fmt.Println(g.Calls[0])
	}
	// Output:
	// dangerous
	// os.system dangerous: operating-system access: processes, files, environment
	// os.system('id')
}

func ExampleClassify() {
	for _, g := range [][2]string{
		{"torch._utils", "_rebuild_tensor_v2"},
		{"__main__", "SimpleNet"},
		{"__builtin__", "eval"},
	} {
		c, _ := scan.Classify(g[0], g[1])
		fmt.Println(g[0]+"."+g[1], c)
	}
	// Output:
	// torch._utils._rebuild_tensor_v2 safe
	// __main__.SimpleNet unknown
	// __builtin__.eval dangerous
}
