package zipfile_test

import (
	"bytes"
	"fmt"

	"github.com/pthkit/pth/internal/zipfile"
)

func Example() {
	// Write two records as torch.save would lay them out...
	var buf bytes.Buffer
	zw := zipfile.NewWriter(&buf, "model")
	zw.WriteRecord("data.pkl", []byte("\x80\x02}q\x00."))
	w, _ := zw.CreateRecord("data/0", 8) // streaming, for large storages
	w.Write([]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40})
	zw.Close()

	// ...and read them back without reading any data until asked.
	z, err := zipfile.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(err)
	}
	prefix, _ := z.Prefix()
	fmt.Println("prefix:", prefix)
	for _, r := range z.Records() {
		fmt.Println(r.Name, r.Size, "bytes at", r.DataOffset, r.Verify())
	}
	// Output:
	// prefix: model
	// model/data.pkl 6 bytes at 64 <nil>
	// model/data/0 8 bytes at 192 <nil>
}
