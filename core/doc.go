// Package core is the domain of odoo-backup: its types and rules, the
// interfaces storage and catalog implement, and the backup/restore engine.
//
// core imports none of the project's other packages, only its own
// subpackages (odoozip for the archive, dumpguard for untrusted dumps,
// odoosql for the SQL about an Odoo database); store, s3, scheduler and tui
// import core, and only cmd wires them together. The use cases a person
// starts (add a destination, set a configuration, restore...) live here, so
// the command line and the console call the same function; core's errors
// say what happened and advise an Action, which each front end phrases.
package core
