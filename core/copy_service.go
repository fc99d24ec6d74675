package core

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/odoo-backup/odoo-backup/core/odoosql"
)

// ActionAddService: Service is not (or no longer) in the catalog; add it.
const ActionAddService Action = "add-service"

// CopyServiceRequest copies a service into a new database and service.
type CopyServiceRequest struct {
	// Source is the service to copy; it is only read.
	Source string
	// NewName is the service to register for the copy.
	NewName string
	// NewDB is the database to create, on the source's PostgreSQL server.
	NewDB string
	// FilestoreDir is the copy's filestore; empty means
	// <data_dir>/filestore/<NewDB> beside the source's.
	FilestoreDir string
	// Neutralize makes the copy safe beside the source (see Neutralize):
	// what DefaultNeutralize says for a service copy unless told otherwise.
	// Without it the copy still gets a new database.uuid and
	// database.secret, as Odoo's duplicate does.
	Neutralize bool
	// IdentityFile decrypts the copy backup when the source's primary
	// encrypts to a recipient whose key is not kept on this host.
	IdentityFile string
	// Owner is the role the copy's database belongs to (see
	// RestoreRequest.Owner); empty means the source database's owner.
	Owner string
	// AcceptErrors creates the copy even when the restored database fails
	// its checks (see RestoreRequest.AcceptErrors).
	AcceptErrors bool
	Progress     ProgressFunc
}

// CopyServiceResult says what a copy produced.
type CopyServiceResult struct {
	// Backup is the fresh `copy` backup of the source the copy was made from.
	Backup  Backup        `json:"backup"`
	Restore RestoreResult `json:"restore"`
	Service Service       `json:"service"`
	// Configurations are the new service's, the same as the source's.
	Configurations []Configuration `json:"configurations"`
}

// CopyService makes a new service from an existing one, as Odoo's "duplicate
// database" does: a fresh backup of the source to its primary destination
// (kind `copy`, SPEC rule 4) is restored into a new database and filestore,
// which get a new database.uuid and database.secret, and the copy is
// registered as a new service on the same PostgreSQL server with the same
// backup configurations (destinations, frequencies, schedules, retentions,
// primary). The source is never changed. If the registration fails after the
// restore, the restored database and filestore are left in place and the
// error says where.
func (e *Engine) CopyService(ctx context.Context, req CopyServiceRequest) (_ CopyServiceResult, err error) {
	var res CopyServiceResult
	defer func() { e.audit(ctx, auditCopyService(req, res), err) }()
	if err := e.permit(ctx, ActionServiceCopy); err != nil {
		return res, err
	}
	defer interrupted(ctx, &err, func() string {
		return fmt.Sprintf("the copy of service %s was interrupted; nothing was created and %s is as it was", req.Source, req.Source)
	})
	if err := ValidateName("service", req.NewName); err != nil {
		return res, err
	}
	if err := ValidateDatabaseName(req.NewDB); err != nil {
		return res, err
	}
	src, err := e.Catalog.Service(ctx, req.Source)
	if err != nil {
		return res, err
	}
	if _, err := e.Catalog.Service(ctx, req.NewName); err == nil {
		return res, Userf(ErrExists, "service %q already exists; choose another name for the copy", req.NewName)
	} else if !errors.Is(err, ErrNotFound) {
		return res, err
	}
	configs, err := e.Catalog.Configurations(ctx, src.Name)
	if err != nil {
		return res, err
	}
	primary, err := e.Catalog.Primary(ctx, src.Name)
	if err != nil {
		return res, NoPrimaryError(src.Name, "for the backup a copy is made from", err)
	}

	bs, err := e.Backup(ctx, BackupRequest{Service: src.Name, Destinations: []string{primary.Destination}, Kind: KindCopy, Progress: req.Progress})
	if err != nil {
		return res, Userf(err, "the backup of %q to copy it from failed, so nothing was created: %s", src.Name, message(err))
	}
	if len(bs) != 1 {
		return res, fmt.Errorf("copy backup of %s gave %d backups, want 1", src.Name, len(bs))
	}
	res.Backup = bs[0]

	res.Restore, err = e.RestoreNewDB(ctx, RestoreRequest{
		BackupID: res.Backup.ID, NewDB: req.NewDB, FilestoreDir: req.FilestoreDir,
		Neutralize: req.Neutralize, NewIdentity: true, IdentityFile: req.IdentityFile, Owner: req.Owner, AcceptErrors: req.AcceptErrors, Progress: req.Progress,
	})
	if err != nil {
		return res, Userf(err, "the copy of %q could not be restored into %q (the source is unchanged; backup %d remains): %s", src.Name, req.NewDB, res.Backup.ID, message(err))
	}

	// The copy exists: registering it is quick and finishes even if the
	// operation is interrupted now, so what was made is never left unnamed.
	ctx = context.WithoutCancel(ctx)
	svc := Service{Name: req.NewName, DB: src.DB, FilestoreDir: res.Restore.FilestoreDir}
	svc.DB.Database = req.NewDB
	leftAt := fmt.Sprintf("database %q on %s and filestore %s were restored and left in place", req.NewDB, src.DB.Address(), res.Restore.FilestoreDir)
	if err := e.Catalog.AddService(ctx, &svc, ""); err != nil {
		return res, Advise(Advice{Action: ActionAddService, Service: req.NewName}, err, "the copy could not be registered as service %q (%s); %s", req.NewName, message(err), leftAt)
	}
	res.Service = svc
	// The primary goes first: the first configuration of a service becomes
	// its primary, and later ones without the flag leave it there.
	sort.SliceStable(configs, func(i, j int) bool { return configs[i].Primary && !configs[j].Primary })
	for _, c := range configs {
		c.ServiceID, c.Service = svc.ID, svc.Name
		if err := e.Catalog.SetConfiguration(ctx, c); err != nil {
			return res, Advise(Advice{Action: ActionSetConfiguration, Service: req.NewName, Destination: c.Destination}, err, "service %q was registered but its configuration on %q could not be copied (%s); %s", req.NewName, c.Destination, message(err), leftAt)
		}
	}
	if res.Configurations, err = e.Catalog.Configurations(ctx, svc.Name); err != nil {
		return res, err
	}
	e.log().Info("service copied", "source", src.Name, "service", svc.Name, "database", req.NewDB, "backup", res.Backup.ID)
	return res, nil
}

// ResetDatabaseIdentity gives a copied database an identity of its own, as
// Odoo's exp_duplicate_database does (through ir.config_parameter's
// init(force=True)): a new database.uuid, so the copy does not pose as the
// original to Odoo's servers, and a new database.secret, so the original's
// signed links and sessions are not valid on it. Nothing else changes.
func ResetDatabaseIdentity(ctx context.Context, c DBConn) error {
	conn, err := ConnectDB(ctx, c)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("reset identity of %s: %w", c.Database, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	ok, err := odoosql.HasConfigParameters(ctx, tx)
	if err != nil {
		return fmt.Errorf("reset identity of %s: %w", c.Database, err)
	}
	if !ok {
		return Userf(ErrInvalid, "database %q has no ir_config_parameter table; it is not an Odoo database", c.Database)
	}
	if err := odoosql.NewIdentity(ctx, tx); err != nil {
		return Userf(err, "cannot give database %q a new identity: %v", c.Database, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("reset identity of %s: %w", c.Database, err)
	}
	return nil
}
