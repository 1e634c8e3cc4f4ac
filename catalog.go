package fetchsms

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// The catalog and pool rules: what the public catalog shows as in stock, which
// area codes can be bought, how services are added and edited, and how numbers
// join the pool.

// StockCounts are the pool's free numbers as an engine counts them.
type StockCounts struct {
	Free     int         // active numbers no purchase holds
	Pristine int         // of those, never sold
	Spent    map[int]int // of those, how many already gave each service a code
}

// NewNumber is a number joining the pool.
type NewNumber struct {
	ID, E164, AreaCode string
	DeviceID           string // where it lives on its gateway ("" when not said)
	SimSlot            int
}

// NumberImport is a number to add to a gateway's pool, with where it lives on
// that gateway when the gateway's software names devices and SIM slots (or
// ports) instead of numbers.
type NumberImport struct {
	E164     string
	DeviceID string // "" when not said
	SimSlot  int    // 1-based; 0 with no device
}

// PlainNumbers are numbers to import with no device or slot.
func PlainNumbers(e164s []string) []NumberImport {
	out := make([]NumberImport, len(e164s))
	for i, n := range e164s {
		out[i] = NumberImport{E164: n}
	}
	return out
}

// CatalogStore is the engine side of the catalog and the pool.
type CatalogStore interface {
	// SeedCatalog inserts the services of cat the database does not have yet
	// (by id); existing rows, which admins may have edited, are left alone, but
	// for one thing: a row of cat's (same id and slug) whose activation code was
	// never set (it predates them) takes cat's code, unless a service holds it.
	SeedCatalog(ctx context.Context, cat []Service) error
	// ServiceByID returns a service, enabled or not; ServiceByRef the enabled
	// service whose id or slug is ref; ErrNoRow when none.
	ServiceByID(ctx context.Context, id int) (*Service, error)
	ServiceByRef(ctx context.Context, ref string) (*Service, error)
	// ServiceByActivationCode returns the service, enabled or not, whose
	// SMS-Activate code is code (not ""); ErrNoRow when none.
	ServiceByActivationCode(ctx context.Context, code string) (*Service, error)
	// AllServices returns every service in display order, disabled ones included.
	AllServices(ctx context.Context) ([]*Service, error)
	CountNumbers(ctx context.Context) (int, error)
	// NumberGateway returns the gateway of a pool number; ErrNoRow when none.
	NumberGateway(ctx context.Context, e164 string) (string, error)
	// PoolNumber returns a pool number by id; ErrNoRow when none.
	PoolNumber(ctx context.Context, id string) (*PoolNumber, error)
	// StockCounts counts the free numbers of the pool.
	StockCounts(ctx context.Context) (StockCounts, error)
	// FreeAreaCodes lists, in any order, the area codes of the free numbers that
	// p could pick (p.AreaCode is ignored; ServiceID 0 means any service).
	FreeAreaCodes(ctx context.Context, p NumberPick) ([]string, error)
}

// CatalogTx is the catalog inside a transaction.
type CatalogTx interface {
	// ServiceByRef returns the enabled service whose id (in decimal) or slug is
	// ref; ErrNoRow when none.
	ServiceByRef(ctx context.Context, ref string) (*Service, error)
	// ServiceByID returns a service, enabled or not; ErrNoRow when none.
	ServiceByID(ctx context.Context, id int) (*Service, error)
	// LockService reads a service for a change, locking it on PostgreSQL; ErrNoRow
	// when none.
	LockService(ctx context.Context, id int) (*Service, error)
	// ServiceByActivationCode is CatalogStore's, in the transaction.
	ServiceByActivationCode(ctx context.Context, code string) (*Service, error)
	// InsertService stores s with the next free id (set in s.ID) after the last
	// service in display order; ErrDuplicate when its slug is taken.
	InsertService(ctx context.Context, s *Service) error
	// SaveService writes s's name, price, state, detection rules and activation
	// code.
	SaveService(ctx context.Context, s *Service) error
	// InsertNumbers adds the numbers to gatewayID's pool, withdrawn from sale or
	// not, skipping those the pool already holds, and returns how many it added.
	InsertNumbers(ctx context.Context, gatewayID string, numbers []NewNumber, withdrawn bool, now time.Time) (int, error)
	// SetNumberDevice ties a pool number to a device's SIM slot of its gateway,
	// or (deviceID "", slot 0) unties it; false when there is no such number,
	// ErrDuplicate when that slot of its gateway holds another number.
	SetNumberDevice(ctx context.Context, numberID, deviceID string, slot int) (bool, error)
}

// CatalogChanged: an admin added or edited a service (the App has reloaded the
// detection rules).
type CatalogChanged struct{}

// Catalog returns the enabled services in display order with live stock, each
// with its category, aliases and reliability figures (as last computed):
// short_available counts free numbers that never delivered a code for the
// service (none for the long-term product), long_available free numbers never sold.
func (a *App) Catalog(ctx context.Context) ([]ServiceStock, error) {
	services, err := a.Store.AllServices(ctx)
	if err != nil {
		return nil, storageError("Catalog", err, "")
	}
	n, err := a.Store.StockCounts(ctx)
	if err != nil {
		return nil, storageError("Catalog", err, "")
	}
	out := make([]ServiceStock, 0, len(services))
	for _, s := range services {
		if !s.Enabled {
			continue
		}
		st := ServiceStock{Service: *s, LongAvailable: n.Pristine, Category: ServiceCategory(s.Slug), Aliases: ServiceAliases(s.Slug), Reliability: a.ReliabilityOf(s.ID)}
		if !s.IsLongTerm() {
			st.ShortAvailable = n.Free - n.Spent[s.ID]
		}
		out = append(out, st)
	}
	return out, nil
}

// AreaCodes lists, sorted, the area codes with a free number: for mode "long"
// only numbers never sold; for "short" with a service, only numbers that can
// still serve it.
func (a *App) AreaCodes(ctx context.Context, mode string, service *Service) ([]string, error) {
	p := NumberPick{Pristine: mode == "long"}
	if !p.Pristine && service != nil {
		p.ServiceID = service.ID
	}
	out, err := a.Store.FreeAreaCodes(ctx, p)
	if err != nil {
		return nil, storageError("AreaCodes", err, "")
	}
	if out == nil {
		out = []string{}
	}
	sort.Strings(out)
	return out, nil
}

// ImportNumbers adds numbers to a gateway's pool, all or nothing: any bad
// number, device or slot fails the whole import with EUNPROCESSABLE naming them
// (the first 20); numbers already in the pool, or repeated, are skipped. Two
// numbers in one device's slot are ECONFLICT. An unknown gateway is ENOTFOUND.
// Numbers imported into a gateway whose numbers are withdrawn (disabled or
// silent: health.go) come in withdrawn.
func (a *App) ImportNumbers(ctx context.Context, gatewayID string, numbers []NumberImport) (added, skipped int, err error) {
	var bad []string
	seen := map[string]bool{}
	slots := map[string]string{}
	var clean []NewNumber
	for _, n := range numbers {
		if _, err := ParseE164(n.E164); err != nil {
			if n.E164 == "" {
				n.E164 = `""`
			}
			bad = append(bad, n.E164)
			continue
		}
		var why string
		if n.DeviceID, why = deviceSlot(n.DeviceID, n.SimSlot); why != "" {
			bad = append(bad, n.E164+" ("+why+")")
			continue
		}
		if seen[n.E164] {
			skipped++
			continue
		}
		seen[n.E164] = true
		if n.DeviceID != "" {
			at := fmt.Sprintf("%s slot %d", n.DeviceID, n.SimSlot)
			if other, ok := slots[at]; ok {
				return 0, 0, Errorf(ECONFLICT, "%s and %s are both in device %s; nothing imported", other, n.E164, at)
			}
			slots[at] = n.E164
		}
		clean = append(clean, NewNumber{ID: NewID(), E164: n.E164, AreaCode: AreaCodeOf(n.E164), DeviceID: n.DeviceID, SimSlot: n.SimSlot})
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], "…")
		}
		return 0, 0, Errorf(EUNPROCESSABLE, "not valid US E.164 numbers, nothing imported: %s", strings.Join(bad, ", "))
	}
	now := a.wall.Now()
	err = a.update(ctx, "ImportNumbers", func(tx Tx) error {
		g, err := tx.LockGateway(ctx, gatewayID)
		if errors.Is(err, ErrNoRow) {
			return Errorf(ENOTFOUND, "gateway not found")
		} else if err != nil {
			return err
		}
		added, err = tx.InsertNumbers(ctx, gatewayID, clean, !g.WithdrawnAt.IsZero(), now)
		return err
	})
	if ErrorCode(err) == ECONFLICT {
		return 0, 0, Errorf(ECONFLICT, "a device's SIM slot already holds another number of this gateway; nothing imported")
	}
	if err != nil {
		return 0, 0, err
	}
	a.publish(ctx, StockChanged{})
	return added, skipped + len(clean) - added, nil
}

// deviceSlot checks where a number lives on its gateway: nowhere said (no
// device, slot 0), or a device id of 1–200 printable characters (spaces around
// it are dropped) and a SIM slot or port 1–512. It returns the device id to
// store, or why the pair is refused.
func deviceSlot(deviceID string, slot int) (string, string) {
	deviceID = strings.TrimSpace(deviceID)
	switch {
	case deviceID == "" && slot != 0:
		return "", "a sim_slot needs a device_id"
	case deviceID != "" && (slot < 1 || slot > 512 || !validDeviceID(deviceID)):
		return "", "device_id of 1–200 printable characters and sim_slot 1–512"
	}
	return deviceID, ""
}

// SetNumberDevice ties a pool number to a device's SIM slot (or port) of its
// gateway, where its messages arrive for gateway software that names slots
// instead of numbers, or with deviceID "" and slot 0 unties it. A bad pair is
// EUNPROCESSABLE, an unknown number ENOTFOUND, and a slot of that device that
// already holds another number of the gateway ECONFLICT.
func (a *App) SetNumberDevice(ctx context.Context, numberID, deviceID string, slot int) (*PoolNumber, error) {
	deviceID, why := deviceSlot(deviceID, slot)
	if why != "" {
		return nil, Errorf(EUNPROCESSABLE, "%s", why)
	}
	err := a.update(ctx, "SetNumberDevice", func(tx Tx) error {
		ok, err := tx.SetNumberDevice(ctx, numberID, deviceID, slot)
		if err == nil && !ok {
			err = Errorf(ENOTFOUND, "number not found")
		}
		return err
	})
	if ErrorCode(err) == ECONFLICT {
		return nil, Errorf(ECONFLICT, "slot %d of device %q already holds another number of this gateway", slot, deviceID)
	}
	if err != nil {
		return nil, err
	}
	return a.PoolNumber(ctx, numberID)
}

// PoolNumber returns a pool number, or ENOTFOUND.
func (a *App) PoolNumber(ctx context.Context, id string) (*PoolNumber, error) {
	n, err := a.Store.PoolNumber(ctx, id)
	return n, storageError("PoolNumber", err, "number not found")
}

// printable reports whether s has no control characters.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// NumberGateway returns the id of the gateway that owns a pool number, or ENOTFOUND.
func (a *App) NumberGateway(ctx context.Context, e164 string) (string, error) {
	g, err := a.Store.NumberGateway(ctx, e164)
	return g, storageError("NumberGateway", err, e164+" is not a number of the pool")
}

// CreateService adds a service after the last one, with the next free id. A
// taken slug is ECONFLICT.
func (a *App) CreateService(ctx context.Context, s Service) (*Service, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	err := a.update(ctx, "CreateService", func(tx Tx) error {
		if err := activationCodeFree(ctx, tx, s); err != nil {
			return err
		}
		err := tx.InsertService(ctx, &s)
		if errors.Is(err, ErrDuplicate) {
			return Errorf(ECONFLICT, "a service with slug %q already exists", s.Slug)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return a.catalogChanged(ctx, s.ID)
}

// UpdateService edits a service's name, price, state, detection rules and
// activation code; an unknown id is ENOTFOUND, a code another service has
// ECONFLICT. A disabled service is unknown to purchases and the
// public catalog; purchases already made keep it.
func (a *App) UpdateService(ctx context.Context, id int, u ServiceUpdate) (*Service, error) {
	err := a.update(ctx, "UpdateService", func(tx Tx) error {
		cur, err := tx.LockService(ctx, id)
		if errors.Is(err, ErrNoRow) {
			return Errorf(ENOTFOUND, "service not found")
		} else if err != nil {
			return err
		}
		next := u.Apply(*cur)
		if err := next.Validate(); err != nil {
			return err
		}
		if err := activationCodeFree(ctx, tx, next); err != nil {
			return err
		}
		return tx.SaveService(ctx, &next)
	})
	if err != nil {
		return nil, err
	}
	return a.catalogChanged(ctx, id)
}

// activationCodeFree checks that no other service holds s's activation code.
func activationCodeFree(ctx context.Context, tx CatalogTx, s Service) error {
	if s.ActivationCode == "" {
		return nil
	}
	other, err := tx.ServiceByActivationCode(ctx, s.ActivationCode)
	switch {
	case errors.Is(err, ErrNoRow):
		return nil
	case err != nil:
		return err
	case other.ID != s.ID:
		return Errorf(ECONFLICT, "activation code %q is already %s's; free it there first", s.ActivationCode, other.Name)
	}
	return nil
}

// ServiceByActivationCode returns the enabled service whose SMS-Activate code is
// code, or ENOTFOUND (unknown_service).
func (a *App) ServiceByActivationCode(ctx context.Context, code string) (*Service, error) {
	unknown := Reasonf(ENOTFOUND, ReasonUnknownService, "no service on sale has the activation code %q", code)
	if code == "" || !utf8.ValidString(code) || strings.IndexByte(code, 0) >= 0 {
		return nil, unknown // no code is that: not asked of the store, which may refuse the bytes
	}
	svc, err := a.Store.ServiceByActivationCode(ctx, code)
	if errors.Is(err, ErrNoRow) || err == nil && !svc.Enabled {
		return nil, unknown
	}
	return svc, storageError("ServiceByActivationCode", err, "")
}

// catalogChanged reloads the detection rules after an edit, announces it, and
// returns the service as stored.
func (a *App) catalogChanged(ctx context.Context, id int) (*Service, error) {
	err := a.ReloadRules(ctx)
	a.publish(ctx, CatalogChanged{})
	if err != nil {
		return nil, err
	}
	return a.ServiceByID(ctx, id)
}
