package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Sandbox accounts. Their passwords are public on purpose: the sandbox holds no real
// money and no real numbers, and serves loopback by default.
const (
	demoEmail     = "demo@fetchsms.dev"
	demoPassword  = "sandbox-demo"
	adminEmail    = "admin@fetchsms.dev"
	adminPassword = "sandbox-admin"
	demoCredit    = fetchsms.Cents(5000)
	simGateway    = "Sandbox SIM bank"
)

// sandboxAreaCodes are the area codes of the seeded pool; each gets numbers in the
// 555-01XX range, which is reserved for fiction.
var sandboxAreaCodes = []string{"212", "213", "305", "312", "332", "415", "469", "512", "617", "628", "646", "917"}

const numbersPerAreaCode = 25

type sandboxSeed struct {
	gatewayID    string
	gatewayToken string
	apiKey       string
	demoSession  string
	adminSession string
}

func (s *sandboxSeed) banner() []string {
	return []string{
		"Sandbox mode: no real money, no real numbers; the test clock and simulated SIM bank are on.",
		"  demo login:    " + demoEmail + " / " + demoPassword + " ($50.00 starting credit)",
		"  admin login:   " + adminEmail + " / " + adminPassword,
		"  admin session: " + s.adminSession,
		"  demo session:  " + s.demoSession,
		"  demo API key (use as YOUR_API_KEY):",
		s.apiKey,
	}
}

// sandboxMarker is the setting a sandbox leaves in its database.
const sandboxMarker = "sandbox.made"

// sandboxSafe refuses to start a sandbox where its public passwords would do
// harm: listening beyond loopback, or on a database that holds accounts no
// sandbox made (a production database). --sandbox-force overrides both.
func sandboxSafe(ctx context.Context, db fetchsms.Store, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
		return fmt.Errorf("--sandbox listens only on loopback (127.0.0.1, ::1 or localhost), not %q: its accounts' passwords are public; add --sandbox-force to mean it", addr)
	}
	if made, err := db.Setting(ctx, sandboxMarker); err != nil || made != "" {
		return err
	}
	users, _, err := db.ListUsers(ctx, fetchsms.Page{Limit: 1})
	if err != nil || len(users) == 0 {
		return err
	}
	if _, _, err := db.LoadUserByEmail(ctx, demoEmail); err == nil {
		return nil // a sandbox made before the marker
	}
	return fmt.Errorf("--sandbox on a database that holds accounts no sandbox made (a production database?): the sandbox would add an admin whose password is public; use another database, or add --sandbox-force to mean it")
}

// seedSandbox makes (once) the sandbox pool and accounts, and mints fresh
// credentials to print.
func seedSandbox(ctx context.Context, db *fetchsms.App) (*sandboxSeed, error) {
	if err := db.SetSetting(ctx, sandboxMarker, "1"); err != nil {
		return nil, err
	}
	gw, err := db.EnsureGateway(ctx, simGateway)
	if err != nil {
		return nil, err
	}
	var numbers []string
	for _, ac := range sandboxAreaCodes {
		for i := 0; i < numbersPerAreaCode; i++ {
			numbers = append(numbers, fmt.Sprintf("+1%s5550%03d", ac, 100+i*3%100))
		}
	}
	if _, _, err := db.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers(numbers)); err != nil {
		return nil, err
	}
	demo, err := ensureUser(ctx, db, demoEmail, demoPassword, fetchsms.RoleCustomer)
	if err != nil {
		return nil, err
	}
	if _, err := ensureUser(ctx, db, adminEmail, adminPassword, fetchsms.RoleAdmin); err != nil {
		return nil, err
	}
	if demo.fresh {
		if _, err := db.Adjust(ctx, demo.ID, demoCredit, "sandbox starting credit"); err != nil {
			return nil, err
		}
	}
	key, err := db.CreateAPIKey(ctx, demo.ID, "sandbox demo key")
	if err != nil {
		return nil, err
	}
	_, demoSess, err := db.Login(ctx, demoEmail, demoPassword)
	if err != nil {
		return nil, err
	}
	_, adminSess, err := db.Login(ctx, adminEmail, adminPassword)
	if err != nil {
		return nil, err
	}
	return &sandboxSeed{gatewayID: gw.ID, gatewayToken: gw.Token, apiKey: key.Key, demoSession: demoSess.Token, adminSession: adminSess.Token}, nil
}

type seededUser struct {
	*fetchsms.User
	fresh bool
}

func ensureUser(ctx context.Context, db *fetchsms.App, email, password, role string) (seededUser, error) {
	u, err := db.UserByEmail(ctx, email)
	if err == nil {
		return seededUser{User: u}, nil
	}
	if fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		return seededUser{}, err
	}
	u, err = db.CreateUser(ctx, email, password, role)
	if fetchsms.ErrorCode(err) == fetchsms.ECONFLICT {
		// Another server on the database seeded it at the same moment.
		u, err = db.UserByEmail(ctx, email)
		return seededUser{User: u}, err
	}
	if err != nil {
		return seededUser{}, err
	}
	return seededUser{User: u, fresh: true}, nil
}
