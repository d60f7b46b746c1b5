package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A small LZMA/LZMA2 decoder, enough to read the 7z archives model hubs carry
// (7-Zip and py7zr compress with LZMA2 by default). It follows Igor Pavlov's
// reference decoder (LzmaSpec.cpp, public domain) step by step; the LZMA2 chunk
// layout is that of xz's liblzma. Everything it decodes is charged to the scan's
// buffer budget, and every distance and length is checked against the window.

// errLZMA is wrapped by every decoding failure.
var errLZMA = errors.New("corrupt LZMA data")

const (
	lzmaNumStates      = 12
	lzmaPosBitsMax     = 4
	lzmaLenToPosStates = 4
	lzmaEndPosModel    = 14
	lzmaFullDistances  = 1 << (lzmaEndPosModel >> 1)
	lzmaAlignBits      = 4
	lzmaMatchMinLen    = 2
	lzmaProbInit       = 1 << 10
)

type prob uint16

// rangeDecoder reads the range-coded bits of one LZMA chunk.
type rangeDecoder struct {
	in         []byte
	pos        int
	rng, code  uint32
	overrunErr bool
}

func (rc *rangeDecoder) init(in []byte) error {
	rc.in, rc.pos, rc.overrunErr = in, 0, false
	if len(in) < 5 || in[0] != 0 {
		return fmt.Errorf("%w: bad range coder start", errLZMA)
	}
	rc.rng = 0xFFFFFFFF
	rc.code = binary.BigEndian.Uint32(in[1:5])
	rc.pos = 5
	if rc.code == rc.rng {
		return fmt.Errorf("%w: bad range coder start", errLZMA)
	}
	return nil
}

func (rc *rangeDecoder) next() byte {
	if rc.pos >= len(rc.in) {
		rc.overrunErr = true
		return 0
	}
	b := rc.in[rc.pos]
	rc.pos++
	return b
}

func (rc *rangeDecoder) normalize() {
	if rc.rng < 1<<24 {
		rc.rng <<= 8
		rc.code = rc.code<<8 | uint32(rc.next())
	}
}

func (rc *rangeDecoder) bit(p *prob) uint32 {
	v := uint32(*p)
	bound := (rc.rng >> 11) * v
	var b uint32
	if rc.code < bound {
		v += ((1 << 11) - v) >> 5
		rc.rng = bound
	} else {
		v -= v >> 5
		rc.code -= bound
		rc.rng -= bound
		b = 1
	}
	*p = prob(v)
	rc.normalize()
	return b
}

func (rc *rangeDecoder) direct(n int) uint32 {
	var res uint32
	for ; n > 0; n-- {
		rc.rng >>= 1
		rc.code -= rc.rng
		t := 0 - (rc.code >> 31)
		rc.code += rc.rng & t
		rc.normalize()
		res = res<<1 + t + 1
	}
	return res
}

func (rc *rangeDecoder) tree(probs []prob, bits int) uint32 {
	m := uint32(1)
	for i := 0; i < bits; i++ {
		m = m<<1 + rc.bit(&probs[m])
	}
	return m - 1<<bits
}

func (rc *rangeDecoder) reverseTree(probs []prob, bits int) uint32 {
	m, sym := uint32(1), uint32(0)
	for i := 0; i < bits; i++ {
		b := rc.bit(&probs[m])
		m = m<<1 + b
		sym |= b << i
	}
	return sym
}

type lenDecoder struct {
	choice, choice2 prob
	low, mid        [1 << lzmaPosBitsMax][1 << 3]prob
	high            [1 << 8]prob
}

func (l *lenDecoder) reset() {
	l.choice, l.choice2 = lzmaProbInit, lzmaProbInit
	for i := range l.low {
		fill(l.low[i][:])
		fill(l.mid[i][:])
	}
	fill(l.high[:])
}

func (l *lenDecoder) decode(rc *rangeDecoder, posState uint32) uint32 {
	if rc.bit(&l.choice) == 0 {
		return rc.tree(l.low[posState][:], 3)
	}
	if rc.bit(&l.choice2) == 0 {
		return 8 + rc.tree(l.mid[posState][:], 3)
	}
	return 16 + rc.tree(l.high[:], 8)
}

func fill(p []prob) {
	for i := range p {
		p[i] = lzmaProbInit
	}
}

// lzmaState is the adaptive state of an LZMA decoder; LZMA2 keeps it across chunks.
type lzmaState struct {
	lc, lp, pb int
	lit        []prob
	posSlot    [lzmaLenToPosStates][1 << 6]prob
	posDec     [1 + lzmaFullDistances - lzmaEndPosModel]prob
	align      [1 << lzmaAlignBits]prob
	isMatch    [lzmaNumStates << lzmaPosBitsMax]prob
	isRep      [lzmaNumStates]prob
	isRepG0    [lzmaNumStates]prob
	isRepG1    [lzmaNumStates]prob
	isRepG2    [lzmaNumStates]prob
	isRep0Long [lzmaNumStates << lzmaPosBitsMax]prob
	lenDec     lenDecoder
	repLenDec  lenDecoder
	state      uint32
	reps       [4]uint32
}

func (s *lzmaState) setProps(b byte) error {
	if b >= 9*5*5 {
		return fmt.Errorf("%w: properties byte %#x", errLZMA, b)
	}
	s.lc, s.lp, s.pb = int(b%9), int(b/9%5), int(b/45)
	if s.lc+s.lp > 4 {
		return fmt.Errorf("%w: lc+lp > 4", errLZMA)
	}
	return nil
}

func (s *lzmaState) reset() {
	n := 0x300 << (s.lc + s.lp)
	if cap(s.lit) >= n {
		s.lit = s.lit[:n]
	} else {
		s.lit = make([]prob, n)
	}
	fill(s.lit)
	for i := range s.posSlot {
		fill(s.posSlot[i][:])
	}
	fill(s.posDec[:])
	fill(s.align[:])
	fill(s.isMatch[:])
	fill(s.isRep[:])
	fill(s.isRepG0[:])
	fill(s.isRepG1[:])
	fill(s.isRepG2[:])
	fill(s.isRep0Long[:])
	s.lenDec.reset()
	s.repLenDec.reset()
	s.state = 0
	s.reps = [4]uint32{}
}

// decodeChunk decodes exactly n bytes from in, appending them to *out.
// Matches may reach back to dictStart (the last dictionary reset) only.
func (s *lzmaState) decodeChunk(in []byte, n int, out *[]byte, dictStart int) error {
	var rc rangeDecoder
	if err := rc.init(in); err != nil {
		return err
	}
	o := *out
	defer func() { *out = o }()
	end := len(o) + n
	for len(o) < end {
		if rc.overrunErr {
			return fmt.Errorf("%w: chunk data ends early", errLZMA)
		}
		posState := uint32(len(o)-dictStart) & (1<<s.pb - 1)
		st := s.state
		if rc.bit(&s.isMatch[st<<lzmaPosBitsMax+posState]) == 0 {
			var prev byte
			if len(o) > dictStart {
				prev = o[len(o)-1]
			}
			litState := (uint32(len(o)-dictStart)&(1<<s.lp-1))<<s.lc + uint32(prev)>>(8-s.lc)
			probs := s.lit[0x300*litState : 0x300*(litState+1)]
			sym := uint32(1)
			if st >= 7 {
				d := int(s.reps[0]) + 1
				if d > len(o)-dictStart {
					return fmt.Errorf("%w: distance beyond the window", errLZMA)
				}
				match := uint32(o[len(o)-d])
				for sym < 0x100 {
					mb := (match >> 7) & 1
					match <<= 1
					b := rc.bit(&probs[(1+mb)<<8+sym])
					sym = sym<<1 | b
					if mb != b {
						break
					}
				}
			}
			for sym < 0x100 {
				sym = sym<<1 | rc.bit(&probs[sym])
			}
			o = append(o, byte(sym))
			switch {
			case st < 4:
				s.state = 0
			case st < 10:
				s.state = st - 3
			default:
				s.state = st - 6
			}
			continue
		}
		var length uint32
		if rc.bit(&s.isRep[st]) != 0 {
			if len(o) == dictStart {
				return fmt.Errorf("%w: repeat match in an empty window", errLZMA)
			}
			if rc.bit(&s.isRepG0[st]) == 0 {
				if rc.bit(&s.isRep0Long[st<<lzmaPosBitsMax+posState]) == 0 {
					if st < 7 {
						s.state = 9
					} else {
						s.state = 11
					}
					d := int(s.reps[0]) + 1
					if d > len(o)-dictStart {
						return fmt.Errorf("%w: distance beyond the window", errLZMA)
					}
					o = append(o, o[len(o)-d])
					continue
				}
			} else {
				var dist uint32
				if rc.bit(&s.isRepG1[st]) == 0 {
					dist = s.reps[1]
				} else {
					if rc.bit(&s.isRepG2[st]) == 0 {
						dist = s.reps[2]
					} else {
						dist = s.reps[3]
						s.reps[3] = s.reps[2]
					}
					s.reps[2] = s.reps[1]
				}
				s.reps[1] = s.reps[0]
				s.reps[0] = dist
			}
			length = s.repLenDec.decode(&rc, posState)
			if st < 7 {
				s.state = 8
			} else {
				s.state = 11
			}
		} else {
			s.reps[3], s.reps[2], s.reps[1] = s.reps[2], s.reps[1], s.reps[0]
			length = s.lenDec.decode(&rc, posState)
			if st < 7 {
				s.state = 7
			} else {
				s.state = 10
			}
			s.reps[0] = s.distance(&rc, length)
			if s.reps[0] == 0xFFFFFFFF {
				return fmt.Errorf("%w: end marker inside an LZMA2 chunk", errLZMA)
			}
		}
		length += lzmaMatchMinLen
		d := int(s.reps[0]) + 1
		if d > len(o)-dictStart {
			return fmt.Errorf("%w: distance beyond the window", errLZMA)
		}
		if int(length) > end-len(o) {
			return fmt.Errorf("%w: match runs past the chunk", errLZMA)
		}
		for i := uint32(0); i < length; i++ {
			o = append(o, o[len(o)-d])
		}
	}
	if rc.overrunErr {
		return fmt.Errorf("%w: chunk data ends early", errLZMA)
	}
	return nil
}

func (s *lzmaState) distance(rc *rangeDecoder, length uint32) uint32 {
	lenState := min(length, lzmaLenToPosStates-1)
	slot := rc.tree(s.posSlot[lenState][:], 6)
	if slot < 4 {
		return slot
	}
	direct := int(slot>>1) - 1
	dist := (2 | slot&1) << direct
	if slot < lzmaEndPosModel {
		return dist + rc.reverseTree(s.posDec[dist-slot:], direct)
	}
	dist += rc.direct(direct-lzmaAlignBits) << lzmaAlignBits
	return dist + rc.reverseTree(s.align[:], lzmaAlignBits)
}

// lzma2 decodes one LZMA2 stream from r (up to its end marker) within the
// scan's buffer budget.
func (fs *fileScan) lzma2(r io.Reader) ([]byte, error) {
	var out []byte
	var st lzmaState
	dictStart, havePros := 0, false
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(r, hdr[:1]); err != nil {
			return nil, fmt.Errorf("%w: LZMA2 stream ends without an end marker", errLZMA)
		}
		c := hdr[0]
		switch {
		case c == 0x00:
			return out, nil
		case c == 0x01 || c == 0x02:
			if _, err := io.ReadFull(r, hdr[1:3]); err != nil {
				return nil, fmt.Errorf("%w: LZMA2 chunk header", errLZMA)
			}
			if c == 0x01 {
				dictStart = len(out)
			}
			n := int64(binary.BigEndian.Uint16(hdr[1:3])) + 1
			if err := fs.chargeBuffered(n); err != nil {
				return nil, err
			}
			start := len(out)
			out = append(out, make([]byte, n)...)
			if _, err := io.ReadFull(r, out[start:]); err != nil {
				return nil, fmt.Errorf("%w: LZMA2 stored chunk of %d bytes", errLZMA, n)
			}
		case c >= 0x80:
			if _, err := io.ReadFull(r, hdr[1:5]); err != nil {
				return nil, fmt.Errorf("%w: LZMA2 chunk header", errLZMA)
			}
			unpacked := int64(c&0x1F)<<16 + int64(binary.BigEndian.Uint16(hdr[1:3])) + 1
			packed := int(binary.BigEndian.Uint16(hdr[3:5])) + 1
			mode := (c >> 5) & 3
			if mode >= 2 {
				var pb [1]byte
				if _, err := io.ReadFull(r, pb[:]); err != nil {
					return nil, fmt.Errorf("%w: LZMA2 properties", errLZMA)
				}
				if err := st.setProps(pb[0]); err != nil {
					return nil, err
				}
				havePros = true
			}
			if !havePros {
				return nil, fmt.Errorf("%w: LZMA2 chunk before any properties", errLZMA)
			}
			if mode == 3 {
				dictStart = len(out)
			}
			if mode >= 1 {
				st.reset()
			}
			if err := fs.chargeBuffered(unpacked + int64(packed)); err != nil {
				return nil, err
			}
			in := make([]byte, packed)
			if _, err := io.ReadFull(r, in); err != nil {
				return nil, fmt.Errorf("%w: LZMA2 chunk of %d packed bytes", errLZMA, packed)
			}
			if err := st.decodeChunk(in, int(unpacked), &out, dictStart); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: LZMA2 control byte %#02x", errLZMA, c)
		}
	}
}
