package core

import (
	"context"
	"fmt"

	"github.com/odoo-backup/odoo-backup/core/odoosql"
)

// Neutralize makes a restored copy of a production database safe to run
// beside it (odoosql.Neutralize says what it changes). It runs in one
// transaction: either everything is applied or nothing is. It returns what
// it did, one short line per step.
func Neutralize(ctx context.Context, c DBConn) ([]string, error) {
	conn, err := ConnectDB(ctx, c)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("neutralize %s: %w", c.Database, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	done, err := odoosql.Neutralize(ctx, tx)
	if err != nil {
		return nil, Userf(err, "cannot neutralize database %q: %v; nothing was changed", c.Database, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("neutralize %s: %w", c.Database, err)
	}
	return done, nil
}

// RestoreOnto is where a restore goes, as the neutralize rule sees it.
type RestoreOnto struct {
	// Service is the service whose data is replaced; "" for a new database.
	Service string
	// ServiceCopy is a copy of a service registered as a new one.
	ServiceCopy bool
}

// NeutralizeRule is what a restore does about neutralization when the
// person does not say (SPEC rule 8).
type NeutralizeRule struct {
	// Neutralize is the default.
	Neutralize bool
	// MustChoose: there is no default, the person says --neutralize or
	// --no-neutralize (or ticks the box), since nobody knows where the
	// backup came from.
	MustChoose bool
	// Why is the reason, in a sentence fragment a front end can show.
	Why string
}

// DefaultNeutralize is the one rule of every front end for whether a
// restore of backup b neutralizes when the person says nothing:
//
//   - a backup uploaded from a file (kind upload): no default, the person
//     chooses, since the file may be this service's own data or another's;
//   - onto the backup's own service: not neutralized, it is its own data
//     coming back (a safety backup put back, say);
//   - onto another service (production into staging): neutralized, so the
//     copy cannot mail production's customers or run its crons, and gets
//     an identity of its own;
//   - a service copy: neutralized, as a copy beside the original;
//   - into a new database: neutralized too. The new database sits beside
//     the original, on the same server, with its crons, mail servers and
//     identity; the usual reason for it is to look at older data, and an
//     Odoo that serves it by accident would act on the original's
//     customers. Whoever wants an exact copy says --no-neutralize.
func DefaultNeutralize(b Backup, onto RestoreOnto) NeutralizeRule {
	switch {
	case b.Kind == KindUpload:
		return NeutralizeRule{MustChoose: true, Why: fmt.Sprintf("backup %d was uploaded from a file whose origin is unknown", b.ID)}
	case onto.ServiceCopy:
		return NeutralizeRule{Neutralize: true, Why: "a copy of a service runs beside the original"}
	case onto.Service == "":
		return NeutralizeRule{Neutralize: true, Why: fmt.Sprintf("a new database runs beside %s's", b.Service)}
	case onto.Service == b.Service:
		return NeutralizeRule{Why: fmt.Sprintf("backup %d is %s's own", b.ID, b.Service)}
	}
	return NeutralizeRule{Neutralize: true, Why: fmt.Sprintf("backup %d is of %s, not of %s", b.ID, b.Service, onto.Service)}
}
