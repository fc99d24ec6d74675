// Package odoosql is the SQL odoo-backup sends about an Odoo database: the
// facts a backup records (installed modules, attachment files, row counts of
// the key tables), what the checks of a restored database read, Odoo's
// neutralization, and the server catalog lookups (owners, roles, databases).
//
// Its functions run on a connection or transaction the caller opened and
// return the driver's errors as they are (wrapped with what was being read);
// the engine in package core connects, phrases errors for the person and
// decides what to do with the answers.
package odoosql
