package main

import "github.com/odoo-backup/odoo-backup/core"

// withAdvice is msg followed by what to do, when core advises an action on
// err: the command line phrases it with the command and flag that do it.
func withAdvice(msg string, err error) string {
	a, ok := core.AdviceOf(err)
	if !ok {
		return msg
	}
	if how := cliAdvice(a); how != "" {
		return msg + "; " + how
	}
	return msg
}

// cliAdvice phrases an action core advises as the command that does it.
func cliAdvice(a core.Advice) string {
	switch a.Action {
	case core.ActionPlainHTTP:
		return "use --no-tls for plain HTTP"
	case core.ActionEditConfiguration:
		return "change it with: odoo-backup " + ownerCommand(a) + " " + a.Service + " " + a.Destination
	case core.ActionSetPrimary:
		return "add one with: odoo-backup config set " + a.Service + " DESTINATION --primary"
	case core.ActionMovePrimary:
		return "to move the flag, run: odoo-backup " + ownerCommand(a) + " " + a.Service + " DESTINATION --primary with another of its destinations"
	}
	return ""
}

// ownerCommand is the command that sets the configurations of the service
// or template a configuration advice is about.
func ownerCommand(a core.Advice) string {
	if a.Detail == "template" {
		return "template set"
	}
	return "config set"
}
