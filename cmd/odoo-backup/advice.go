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
	}
	return ""
}
