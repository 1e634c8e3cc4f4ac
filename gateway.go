package fetchsms

import (
	"context"
	"strings"

	"github.com/google/uuid"
)

// Sealer keeps secrets the server must read back, encrypted at rest, each bound
// to a context (its row): internal/sealbox.
type Sealer interface {
	Seal(plain []byte, context string) string
	Open(sealed, context string) ([]byte, error)
	// Current reports whether a value is sealed under the key that seals now.
	Current(sealed string) bool
}

// The gateway rules: a gateway is a SIM bank, phone or provider account that
// delivers SMS for its own numbers. Its token authenticates it (stored as a
// hash); gateway software that signs its requests with the token instead (the
// Android app, Twilio-style posts) needs the token itself, which is kept sealed
// when the server has a secret key. A disabled gateway's token and signatures
// are refused. Every message or heartbeat notes when it was last heard from
// (health.go: what silence and disabling do to its numbers).

func gatewayContext(id string) string { return SecretGateway + ":" + id }

// sealGatewayToken seals a gateway's token for its row, "" when the server
// keeps no secrets.
func (a *App) sealGatewayToken(id, token string) string {
	return a.sealSecret(SecretGateway, id, token)
}

// RotateGatewayToken gives a gateway a new token (shown once, in the answer):
// the old one stops at once, on every server. ENOTFOUND when there is no such
// gateway.
func (a *App) RotateGatewayToken(ctx context.Context, id string) (*Gateway, error) {
	return a.replaceGatewayToken(ctx, id, NewToken(PrefixGateway))
}

// SetGatewayKey gives a gateway a token of the operator's choosing: the key a
// provider signs with and that cannot be chosen there (Twilio signs with the
// account's auth token). It must be 16–200 printable characters without spaces;
// the old token stops at once. Bearer authentication needs a token of ours
// (fsg_…), so such a gateway posts only through signed adapters.
func (a *App) SetGatewayKey(ctx context.Context, id, key string) (*Gateway, error) {
	if len(key) < 16 || len(key) > 200 || !printable(key) || strings.ContainsAny(key, " \t") {
		return nil, Errorf(EUNPROCESSABLE, "token must be 16–200 printable characters without spaces")
	}
	if a.secrets == nil {
		return nil, Errorf(ECONFLICT, "this server keeps no secrets (no secret key): a chosen token could not be used to check signatures")
	}
	return a.replaceGatewayToken(ctx, id, key)
}

func (a *App) replaceGatewayToken(ctx context.Context, id, token string) (*Gateway, error) {
	err := a.update(ctx, "RotateGatewayToken", func(tx Tx) error {
		ok, err := tx.SetGatewayToken(ctx, id, HashToken(token), a.sealGatewayToken(id, token))
		if err == nil && !ok {
			err = Errorf(ENOTFOUND, "gateway not found")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, CredentialsChanged{})
	g, err := a.Gateway(ctx, id)
	if err != nil {
		return nil, err
	}
	g.Token = token
	return g, nil
}

// SetGatewayDisabled disables a gateway (its token and signatures are refused
// from now on, on every server) or enables it again. A disabled gateway cannot
// deliver, so its numbers are withdrawn from sale in the same transaction, and
// the verifications waiting on them are then ended and refunded; enabled, its
// numbers are for sale again at once unless it is silent (then when it is next
// heard from: health.go). ENOTFOUND when there is no such gateway.
func (a *App) SetGatewayDisabled(ctx context.Context, id string, disabled bool) (*Gateway, error) {
	var g *Gateway
	err := a.update(ctx, "SetGatewayDisabled", func(tx Tx) error {
		ok, err := tx.SetGatewayDisabled(ctx, id, disabled)
		if err == nil && !ok {
			err = Errorf(ENOTFOUND, "gateway not found")
		}
		if err == nil {
			g, _, err = a.settleGateway(ctx, tx, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, CredentialsChanged{}, StockChanged{})
	if !g.WithdrawnAt.IsZero() {
		if err := a.endWaitingOn(ctx, id); err != nil {
			return nil, err
		}
	}
	return a.Gateway(ctx, id)
}

// Gateway returns one gateway (without its token), or ENOTFOUND.
func (a *App) Gateway(ctx context.Context, id string) (*Gateway, error) {
	gs, err := a.Store.ListGateways(ctx)
	if err != nil {
		return nil, storageError("Gateway", err, "")
	}
	for _, g := range gs {
		if g.ID == id {
			return g, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "gateway not found")
}

// GatewaySigningKey returns the token with which a gateway's software signs its
// requests. ENOTFOUND for an unknown gateway (an id that is not one of ours,
// as a URL may carry, is not looked up: a store may refuse its bytes); EUNAUTHORIZED for a disabled one,
// and for one whose token the server does not keep (no secret key, or a gateway
// made before: rotate its token once the server has a key).
func (a *App) GatewaySigningKey(ctx context.Context, id string) ([]byte, error) {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return nil, Errorf(ENOTFOUND, "gateway not found")
	}
	sealed, disabled, err := a.Store.GatewaySecret(ctx, id)
	if err != nil {
		return nil, storageError("GatewaySigningKey", err, "gateway not found")
	}
	switch {
	case disabled:
		return nil, Errorf(EUNAUTHORIZED, "this gateway is disabled")
	case sealed == "" || a.secrets == nil:
		return nil, Errorf(EUNAUTHORIZED, "this gateway's token is not kept for signatures: start the server with a secret key (FETCHSMS_SECRET_KEY) and rotate the gateway's token")
	}
	key, err := a.secrets.Open(sealed, gatewayContext(id))
	if err != nil {
		return nil, Errorf(EUNAUTHORIZED, "this gateway's token was sealed under a key the server no longer has: rotate the gateway's token")
	}
	return key, nil
}

// validDeviceID reports whether a device id as gateway software sends it is
// one we can store and look up.
func validDeviceID(s string) bool {
	return s != "" && len(s) <= 200 && printable(s) && strings.TrimSpace(s) == s
}

// Kinds of stored secrets, and the context each is sealed for.
const (
	SecretWebhook = "webhook-secret" // a webhook endpoint's signing secret (webhook_endpoints.secret)
	SecretGateway = "gateway-token"  // a gateway's token (gateways.token_sealed)
	// SecretWebhookPrevious is an endpoint's previous secret, kept through a
	// rotation's overlap (webhook_endpoints.previous_secret). It is sealed for
	// the same context as SecretWebhook: a rotation moves the sealed value as it is.
	SecretWebhookPrevious = "webhook-previous-secret"
)

// sealedFor is the kind whose context seals a stored secret of kind k.
func sealedFor(k string) string {
	if k == SecretWebhookPrevious {
		return SecretWebhook
	}
	return k
}

// StoredSecret is a secret as stored: sealed, or (webhook secrets stored before
// the server had a key) plain.
type StoredSecret struct {
	Kind, ID, Value string
}

// sealed reports whether a stored value is sealed (plain secrets have their own
// prefixes: whsec_, fsg_).
func sealed(v string) bool { return strings.HasPrefix(v, "v1.") }

// sealSecret seals a secret for its row; without a key it stays plain for a
// webhook secret ("" for a gateway token, which is then not kept).
func (a *App) sealSecret(kind, id, plain string) string {
	if a.secrets == nil {
		if kind == SecretGateway {
			return ""
		}
		return plain
	}
	return a.secrets.Seal([]byte(plain), kind+":"+id)
}

// openSecret opens a stored secret; a plain one is returned as it is.
func (a *App) openSecret(kind, id, stored string) (string, error) {
	if !sealed(stored) {
		return stored, nil
	}
	if a.secrets == nil {
		return "", Errorf(EUNAVAILABLE, "a sealed secret needs the server's secret key")
	}
	p, err := a.secrets.Open(stored, kind+":"+id)
	if err != nil {
		return "", err
	}
	return string(p), nil
}

// SealStoredSecrets seals the webhook secrets stored plain, and seals again
// under the current key what an older key sealed (the second half of a key
// rotation), an endpoint's previous secret included; it returns how many it
// changed. Values no key of this server opens
// are left alone and counted in stuck. Safe to run on several servers at once.
func (a *App) SealStoredSecrets(ctx context.Context) (changed, stuck int, err error) {
	if a.secrets == nil {
		return 0, 0, nil
	}
	all, err := a.Store.StoredSecrets(ctx)
	if err != nil {
		return 0, 0, storageError("SealStoredSecrets", err, "")
	}
	for _, s := range all {
		if s.Value == "" || sealed(s.Value) && a.secrets.Current(s.Value) {
			continue
		}
		plain, err := a.openSecret(sealedFor(s.Kind), s.ID, s.Value)
		if err != nil {
			stuck++
			continue
		}
		next := StoredSecret{Kind: s.Kind, ID: s.ID, Value: a.secrets.Seal([]byte(plain), sealedFor(s.Kind)+":"+s.ID)}
		var ok bool
		if err := a.update(ctx, "SealStoredSecrets", func(tx Tx) (err error) { ok, err = tx.ReplaceSecret(ctx, next, s.Value); return err }); err != nil {
			return changed, stuck, err
		}
		if ok {
			changed++
		}
	}
	return changed, stuck, nil
}

// Sealer returns what seals the secrets the server must read back; nil when the
// server keeps none. The dashboard seals with it a new secret it shows once after
// a redirect, so that any server sharing the key can show it.
func (a *App) Sealer() Sealer { return a.secrets }
