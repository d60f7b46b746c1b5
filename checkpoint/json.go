package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// decodeStrictJSON decodes an index file, refusing duplicate keys in its
// weight_map (encoding/json would keep the last one silently).
func decodeStrictJSON(raw []byte, v *indexFile) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	return checkDup(dec, 0)
}

// checkDup walks one JSON value and fails on a repeated key in any object.
func checkDup(dec *json.Decoder, depth int) error {
	if depth > 64 {
		return fmt.Errorf("nesting deeper than 64")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			ks, _ := k.(string)
			if seen[ks] {
				return fmt.Errorf("duplicate key %q", ks)
			}
			seen[ks] = true
			if err := checkDup(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := checkDup(dec, depth+1); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // closing delimiter
	return err
}
