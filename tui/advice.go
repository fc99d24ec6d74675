package tui

import "github.com/odoo-backup/odoo-backup/core"

// errorText is the sentence the console shows for err: what happened and,
// when core advises an action, the key or screen that does it here.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return withConsoleAdvice(err.Error(), err)
}

// withConsoleAdvice is msg followed by the console's phrase for the action
// core advises on err, if any.
func withConsoleAdvice(msg string, err error) string {
	a, ok := core.AdviceOf(err)
	if !ok {
		return msg
	}
	if how := consoleAdvice(a); how != "" {
		return msg + "; " + how
	}
	return msg
}

// consoleAdvice phrases an action core advises as the key or screen that
// does it in the console.
func consoleAdvice(a core.Advice) string {
	switch a.Action {
	case core.ActionPlainHTTP:
		return "turn on No TLS for plain HTTP"
	case core.ActionEditConfiguration:
		return "edit that one instead (e)"
	case core.ActionSetPrimary:
		return "give it one on its screen: a adds a destination, p makes the selected one primary"
	case core.ActionMovePrimary:
		return "to move the flag, press p on another of its destinations"
	}
	return ""
}
