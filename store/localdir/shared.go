package localdir

import "github.com/odoo-backup/odoo-backup/core/storekit"

// The helpers this store shares with every other one (package storekit).
var (
	validateKey    = storekit.ValidateKey
	validatePrefix = storekit.ValidatePrefix
	userErr        = storekit.UserErr
	cancelled      = storekit.Cancelled
)
