package main

import (
	"context"
	"fmt"

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

// seedSandbox makes (once) the sandbox pool and accounts, and mints fresh
// credentials to print.
func seedSandbox(ctx context.Context, db *fetchsms.App) (*sandboxSeed, error) {
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
	return &sandboxSeed{gatewayToken: gw.Token, apiKey: key.Key, demoSession: demoSess.Token, adminSession: adminSess.Token}, nil
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
