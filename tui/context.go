// Package tui is the console: a keyboard-driven terminal interface over the
// catalog and the engine, built with bubbletea, bubbles and lipgloss.
package tui

import (
	"context"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// Engine is what the console needs from core.Engine; tests fake it.
type Engine interface {
	Backup(ctx context.Context, req core.BackupRequest) ([]core.Backup, error)
	RestoreToService(ctx context.Context, req core.ServiceRestoreRequest) (core.RestoreResult, error)
	RestoreNewDB(ctx context.Context, req core.RestoreRequest) (core.RestoreResult, error)
	HoldsFilestore(ctx context.Context, b core.Backup) (bool, error)
	Verify(ctx context.Context, req core.VerifyRequest) (core.VerifyResult, error)
	DeleteBackup(ctx context.Context, req core.DeleteRequest) (core.Backup, error)
	InspectUpload(ctx context.Context, path string) (core.UploadInfo, error)
	Upload(ctx context.Context, req core.UploadRequest) (core.Backup, core.UploadInfo, error)
	Download(ctx context.Context, req core.DownloadRequest) (core.Backup, error)
	TestHook(ctx context.Context, service string, event core.HookEvent) (core.HookRun, error)
}

var _ Engine = (*core.Engine)(nil)

// Catalog is what the console uses of the catalog: it manages destinations,
// services, their configurations and templates, and reads the history of
// backups, drills and changes, and who runs the schedules, and keeps the
// notification channels. It records no
// backup itself (its Engine does) and holds no lease (the scheduler does).
type Catalog interface {
	core.Destinations
	core.Services
	core.Configurations
	core.Templates
	core.BackupHistory
	core.DrillHistory
	core.AuditTrail
	core.LeaseReader
	core.HostReader
	// Notification channels, their deliveries, and the ping URLs of
	// configurations.
	core.NotifyCatalog
	core.PingURLSetter
	// The hooks of services, run around their backups and restores.
	core.HookCatalog
}

// Context is shared by every screen: the terminal size, the theme, the one
// keymap, the clock and the data sources. Screens read it; only the root
// model changes it.
type Context struct {
	Width, Height int
	Theme         Theme
	Keys          KeyMap
	Now           core.Clock
	ReadOnly      bool
	// Role is what this database user may do (Options.Role); DBUser names
	// it.
	Role   core.Role
	DBUser string
	// CatalogName is the catalog as messages name it (a URL without its
	// password).
	CatalogName string
	Catalog     Catalog
	Engine      Engine
	// OpenStore opens a destination's storage (Options.OpenStore).
	OpenStore core.StoreOpener
	// Requests asks other hosts' daemons for work on their services
	// (Options.Requests); nil does all work here.
	Requests core.RequestQueue
	// PageSize is how many history rows one catalog query loads.
	PageSize int
	// Base is cancelled when the console ends; jobs run under it.
	Base context.Context
	// Animate turns the spinner; off, it shows one still frame (tests).
	Animate bool
	frame   int
	seq     uint64
	// progress remembers the running backups' byte counts for throughput.
	progress progressTracker
}

// nextSeq numbers a load when its command is made (always in Update, in
// order), so its result can be told from an older one that arrives later.
func (c *Context) nextSeq() uint64 {
	c.seq++
	return c.seq
}

var spinnerFrames = []string{"◐", "◓", "◑", "◒"}

// spin is the spinner's current frame, shown wherever something runs or loads.
func (c *Context) spin() string { return spinnerFrames[c.frame%len(spinnerFrames)] }

// bodyHeight is the room left for a screen between the header and the
// status and help lines.
func (c *Context) bodyHeight() int {
	h := c.Height - 3
	if h < 5 {
		h = 5
	}
	return h
}

func (c *Context) now() time.Time { return c.Now() }
