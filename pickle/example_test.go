package pickle_test

import (
	"fmt"
	"strings"

	"github.com/pthkit/pth/pickle"
)

func Example() {
	// pickle.dumps({'epoch': 3, 'w': [1.5, None]}, protocol=2) followed by the
	// protocol-0 pickle of a call to os.system: decoding never runs anything.
	data := []byte("\x80\x02}q\x00(X\x05\x00\x00\x00epochq\x01K\x03X\x01\x00\x00\x00wq\x02]q\x03(G?\xf8\x00\x00\x00\x00\x00\x00Neu.")
	v, err := pickle.Unmarshal(data, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pickle.Sprint(v))
	d := v.(*pickle.Dict)
	epoch, _ := d.GetString("epoch")
	fmt.Println("epoch:", epoch)

	evil, _ := pickle.Unmarshal([]byte("cposix\nsystem\n(S'echo pwned'\ntR."), nil)
	call := evil.(*pickle.Object)
	fmt.Println(call.Callable, call.Args)
	// Output:
	// {'epoch': 3, 'w': [1.5, None]}
	// epoch: 3
	// posix.system [echo pwned]
}

func ExampleMarshal() {
	d := pickle.NewDict()
	d.Set("lr", 0.001)
	d.Set("layers", pickle.Tuple{int64(64), int64(10)})
	b, err := pickle.Marshal(d)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The bytes of CPython's pickle.dumps({'lr': 0.001, 'layers': (64, 10)}, protocol=2).
	fmt.Printf("%q\n", b)
	// Output:
	// "\x80\x02}q\x00(X\x02\x00\x00\x00lrq\x01G?PbM\xd2\xf1\xa9\xfcX\x06\x00\x00\x00layersq\x02K@K\n\x86q\x03u."
}

func ExampleNewOpReader() {
	r := pickle.NewOpReader(strings.NewReader("\x80\x02cbuiltins\nprint\nq\x00."), pickle.Limits{})
	for {
		op, err := r.Next()
		if err != nil {
			break
		}
		fmt.Println(op.Offset, op.Name, op.Arg)
	}
	// Output:
	// 0 PROTO 2
	// 2 GLOBAL builtins.print
	// 18 BINPUT 0
	// 20 STOP <nil>
}
