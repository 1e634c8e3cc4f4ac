package fetchsms

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// NewToken returns a fresh secret with the given kind prefix: 32 random bytes
// (256 bits) in unpadded URL-safe base64.
func NewToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SHA-256 of a token: what is stored and looked up. Tokens carry
// 256 bits of entropy, so a fast hash is enough; passwords use argon2id instead.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// TokenKind returns the credential kind a token's prefix names, or "".
func TokenKind(token string) string {
	switch {
	case strings.HasPrefix(token, PrefixAPIKey):
		return KindAPIKey
	case strings.HasPrefix(token, PrefixSession):
		return KindSession
	case strings.HasPrefix(token, PrefixGateway):
		return KindGateway
	}
	return ""
}

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
// Stored hashes carry their own parameters, so these can be raised later.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether password matches a hash made by HashPassword,
// comparing in constant time. A malformed hash never matches.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// ValidatePassword enforces the minimum password rules.
func ValidatePassword(p string) error {
	if len(p) < 8 {
		return Errorf(EUNPROCESSABLE, "password must be at least 8 characters")
	}
	if len(p) > 256 {
		return Errorf(EUNPROCESSABLE, "password must be at most 256 characters")
	}
	return nil
}

// ValidateEmail does a light syntactic check; the address is confirmed by use.
func ValidateEmail(e string) error {
	at := strings.LastIndexByte(e, '@')
	if len(e) > 254 || at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n<>\"") || !strings.Contains(e[at:], ".") {
		return Errorf(EUNPROCESSABLE, "email must be a valid address such as dev@example.com")
	}
	return nil
}
