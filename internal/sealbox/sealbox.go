// Package sealbox keeps small secrets encrypted at rest: the secrets the server
// must read back (a gateway's token, which signs what the gateway sends), not the
// ones it only compares (those are hashed). A Box seals with AES-256-GCM under
// the first of its keys and opens with any of them, so keys can be rotated: put
// the new key first, keep the old ones until everything sealed under them has
// been sealed again.
//
// A sealed value is "v1.<key id>.<base64url(nonce ‖ ciphertext)>"; the key id is
// the first 8 hex digits of the key's SHA-256, so a value names the key it needs
// without revealing it. Each value is bound to a context (a row's id) given at
// sealing and at opening: a sealed value copied to another row does not open.
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of a key: 32 bytes (AES-256).
const KeySize = 32

type key struct {
	id   string
	aead cipher.AEAD
}

// Box seals and opens secrets.
type Box struct{ keys []key }

// New returns a box over keys (each KeySize bytes); the first seals.
func New(keys ...[]byte) (*Box, error) {
	if len(keys) == 0 {
		return nil, errors.New("sealbox: no key")
	}
	b := &Box{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("sealbox: key %d is %d bytes, want %d", i+1, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(k)
		b.keys = append(b.keys, key{id: hex.EncodeToString(sum[:4]), aead: aead})
	}
	return b, nil
}

// ParseKeys reads keys written as base64 (standard or URL alphabet, padded or
// not), separated by commas: the form of FETCHSMS_SECRET_KEY and of a key file.
func ParseKeys(s string) ([][]byte, error) {
	var out [][]byte
	for i, f := range strings.Split(strings.TrimSpace(s), ",") {
		f = strings.TrimSpace(f)
		var k []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err = enc.DecodeString(f); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("sealbox: key %d is not base64", i+1)
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("sealbox: key %d is %d bytes, want %d (make one with: head -c 32 /dev/urandom | base64)", i+1, len(k), KeySize)
		}
		out = append(out, k)
	}
	return out, nil
}

// NewKey returns a random key in the form ParseKeys reads.
func NewKey() string {
	k := make([]byte, KeySize)
	rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// FromFile returns a box over the keys in a file, creating the file with one new
// key (mode 0600) when it does not exist.
func FromFile(path string) (*Box, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		f, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if cerr != nil {
			return nil, fmt.Errorf("sealbox: creating the key file: %w", cerr)
		}
		k := NewKey()
		if _, werr := f.WriteString(k + "\n"); werr != nil {
			f.Close()
			return nil, fmt.Errorf("sealbox: writing the key file: %w", werr)
		}
		if serr := f.Sync(); serr != nil {
			f.Close()
			return nil, fmt.Errorf("sealbox: writing the key file: %w", serr)
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		data = []byte(k)
	} else if err != nil {
		return nil, fmt.Errorf("sealbox: reading the key file: %w", err)
	}
	keys, err := ParseKeys(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return New(keys...)
}

// ErrOpen: the value is not one this box sealed for this context (a missing or
// wrong key, a value changed or moved).
var ErrOpen = errors.New("sealbox: cannot open the sealed value")

// Seal encrypts plain for a context under the first key.
func (b *Box) Seal(plain []byte, context string) string {
	k := b.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	rand.Read(nonce)
	out := k.aead.Seal(nonce, nonce, plain, []byte(context))
	return "v1." + k.id + "." + base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts a value sealed for context by any of the box's keys.
func (b *Box) Open(sealed, context string) ([]byte, error) {
	parts := strings.Split(sealed, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, ErrOpen
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, ErrOpen
	}
	for _, k := range b.keys {
		if k.id != parts[1] || len(raw) < k.aead.NonceSize() {
			continue
		}
		n := k.aead.NonceSize()
		if plain, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(context)); err == nil {
			return plain, nil
		}
	}
	return nil, ErrOpen
}

// Current reports whether sealed is sealed under the box's first key (false:
// seal it again to finish a rotation).
func (b *Box) Current(sealed string) bool {
	parts := strings.Split(sealed, ".")
	return len(parts) == 3 && parts[1] == b.keys[0].id
}
