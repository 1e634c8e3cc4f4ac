package sqlite

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// Verification refs ("v_8R3p2K": six base-62 characters) are unique, and they were
// random. A UNIQUE index over random keys puts every purchase on a random page of
// that index: under load about 8 of the 37 pages each commit wrote to the WAL, and
// once the table outgrows the page cache, a random read per purchase. A ref is now
// a keyed permutation of a counter (the row's seq): unique by construction, not
// guessable or ordered for whoever reads them (the key is the database's own
// secret), and the UNIQUE index holds the counter instead (ref_key, "~" and the
// counter in fixed-width base 62, so in seq order), where new rows append. See
// migration 0008 and docs/DECISIONS.md.

const (
	refChars = 6
	// refSpace is how many refs there are: 62^6.
	refSpace = 62 * 62 * 62 * 62 * 62 * 62
	// refStride separates the counters tried for one row: seq, then seq +
	// refStride, then seq + 2*refStride when a ref is already taken by a row from
	// before the permutation (see nextVerificationRef). Each stays below refSpace
	// while seq < refStride, and distinct rows never share a counter.
	refStride = 1 << 34
	refTries  = 3

	feistelHalf   = 18 // bits in each half; 2^36 >= refSpace
	feistelMask   = 1<<feistelHalf - 1
	feistelRounds = 6
)

// refPerm is a keyed permutation of [0, refSpace): a balanced Feistel network on
// 36 bits whose round function is AES under the key, walked round its cycle until
// the value falls inside the range (about 1.2 passes on average). A permutation of
// a larger set restricted this way is a permutation of the smaller one. It is not
// safe for concurrent use (the writer alone uses it).
type refPerm struct {
	block cipher.Block
	buf   [32]byte // the round function's input and output, not to allocate per round
}

func newRefPerm(key []byte) (*refPerm, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sqlite: ref key: %w", err)
	}
	return &refPerm{block: b}, nil
}

// parseRefKey reads the hex key kept in settings.
func parseRefKey(s string) (*refPerm, error) {
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != 16 {
		return nil, fmt.Errorf("sqlite: ref key in settings is not 32 hex digits")
	}
	return newRefPerm(key)
}

func (p *refPerm) round(r int, x uint64) uint64 {
	in, out := p.buf[:16], p.buf[16:]
	clear(in)
	in[0] = byte(r)
	binary.BigEndian.PutUint64(in[8:], x)
	p.block.Encrypt(out, in)
	return binary.BigEndian.Uint64(out[:8]) & feistelMask
}

func (p *refPerm) feistel(x uint64) uint64 {
	l, r := x>>feistelHalf, x&feistelMask
	for i := range feistelRounds {
		l, r = r, l^p.round(i, r)
	}
	return l<<feistelHalf | r
}

// unfeistel is feistel's inverse: the rounds undone in reverse order.
func (p *refPerm) unfeistel(x uint64) uint64 {
	l, r := x>>feistelHalf, x&feistelMask
	for i := feistelRounds - 1; i >= 0; i-- {
		l, r = r^p.round(i, l), l
	}
	return l<<feistelHalf | r
}

// apply maps n in [0, refSpace) to its image in [0, refSpace).
func (p *refPerm) apply(n uint64) uint64 {
	x := p.feistel(n)
	for x >= refSpace {
		x = p.feistel(x)
	}
	return x
}

// invert is apply's inverse: the cycle walked backwards into the range.
func (p *refPerm) invert(v uint64) uint64 {
	x := p.unfeistel(v)
	for x >= refSpace {
		x = p.unfeistel(x)
	}
	return x
}

// parseBase62 reads the refChars digits of a ref after its "v_"; false when the
// text is not of that form.
func parseBase62(digits string) (uint64, bool) {
	if len(digits) != refChars {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(digits); i++ {
		d := strings.IndexByte(sqlrows.RefAlphabet, digits[i])
		if d < 0 {
			return 0, false
		}
		v = v*62 + uint64(d)
	}
	return v, true
}

// refKeyOf returns the ref_key of the row a new-style ref belongs to: the
// counter the permutation maps to ref. False when ref is not of the v_ form.
func (p *refPerm) refKeyOf(ref string) (string, bool) {
	digits, ok := strings.CutPrefix(ref, "v_")
	v, ok2 := parseBase62(digits)
	if !ok || !ok2 {
		return "", false
	}
	return string(appendBase62([]byte("~"), p.invert(v))), true
}

// appendBase62 appends v < refSpace as refChars digits of sqlrows.RefAlphabet, most
// significant first; the alphabet is in ASCII order, so the text sorts as v does.
func appendBase62(b []byte, v uint64) []byte {
	var d [refChars]byte
	for i := refChars - 1; i >= 0; i-- {
		d[i] = sqlrows.RefAlphabet[v%62]
		v /= 62
	}
	return append(b, d[:]...)
}

// verificationRef is the public ref for counter n, and refKey what the UNIQUE
// index keeps for it.
func (p *refPerm) verificationRef(n uint64) (ref, refKey string) {
	return string(appendBase62([]byte("v_"), p.apply(n))), string(appendBase62([]byte("~"), n))
}
