// Package core is the domain of odoo-backup: its types and rules, the
// interfaces storage and catalog implement, and the backup/restore engine.
//
// core imports none of the project's other packages; store, s3, scheduler
// and tui import core, and only cmd wires them together.
package core
