package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Wrong usage exits 2 with one sentence (SPEC: "2 wrong usage (unknown
// command or flag, a value it cannot read)"). Cobra's defaults do otherwise:
// a command group given an unknown or no subcommand prints its help and
// exits 0, and a wrong number of arguments is an ordinary error. These rules
// are put on the whole tree once it is built, so no command can forget them.

// applyUsageRules walks the command tree: every group refuses an unknown or
// missing subcommand, and every argument check fails as wrong usage.
func applyUsageRules(root *cobra.Command) {
	// Cobra adds these lazily while executing; add them now so the walk sees them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "help" {
			return
		}
		switch {
		case c.HasSubCommands() && c != root && !c.Runnable():
			c.Args = cobra.ArbitraryArgs
			c.RunE = groupRun
		case c.Args == nil && c.Runnable() && !c.HasSubCommands():
			c.Args = cobra.NoArgs
		}
		c.SuggestionsMinimumDistance = 2
		if c.Args != nil {
			check := c.Args
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usageError{argsError(cmd, args)}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Run, c.RunE = nil, helpRun
		}
	}
}

// helpRun is `odoo-backup help [COMMAND]`: the help of a command that
// exists, and wrong usage (exit 2) for one that does not, where cobra would
// print the general help and exit 0.
func helpRun(c *cobra.Command, args []string) error {
	root := c.Root()
	cmd, rest, err := root.Find(args)
	switch {
	case err != nil || cmd == nil:
		return usageError{unknownCommand(root, args[0])}
	case len(rest) > 0 && cmd.HasSubCommands():
		return usageError{unknownCommand(cmd, rest[0])}
	}
	return cmd.Help()
}

// groupRun is what a command group such as `destination` does when no known
// subcommand follows it.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{unknownCommand(cmd, args[0])}
	}
	return usageError{fmt.Errorf("%s needs a command: %s (see: %s --help)", cmd.CommandPath(), subcommandNames(cmd), cmd.CommandPath())}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	typed := strings.TrimSpace(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()) + " " + name)
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		return fmt.Errorf("unknown command %q; did you mean %s? (see: %s --help)", typed, strings.Join(s, " or "), cmd.CommandPath())
	}
	return fmt.Errorf("unknown command %q; the commands are %s (see: %s --help)", typed, subcommandNames(cmd), cmd.CommandPath())
}

func subcommandNames(cmd *cobra.Command) string {
	var names []string
	for _, s := range cmd.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	return strings.Join(names, ", ")
}

// argsError says what a command takes when its arguments are wrong.
func argsError(cmd *cobra.Command, args []string) error {
	if cmd.HasSubCommands() && len(args) > 0 {
		return unknownCommand(cmd, args[0])
	}
	usage := strings.TrimSuffix(cmd.UseLine(), " [flags]")
	switch {
	case len(args) == 0:
		return fmt.Errorf("%s is missing its arguments; usage: %s", cmd.CommandPath(), usage)
	case !strings.Contains(cmd.Use, " "):
		return fmt.Errorf("%s takes no arguments, and was given %s; usage: %s", cmd.CommandPath(), quoteArgs(args), usage)
	}
	return fmt.Errorf("%s was given %d argument(s) (%s); usage: %s", cmd.CommandPath(), len(args), quoteArgs(args), usage)
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// pflag's messages name Go's parser ("strconv.ParseInt: parsing ..."); say
// what the flag takes instead.
var invalidFlagRE = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?(--[\w-]+)" flag: (.*)$`)

// flagError phrases a flag that cobra could not parse as one sentence.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if m := invalidFlagRE.FindStringSubmatch(msg); m != nil {
		want := "another value"
		switch {
		case strings.Contains(m[3], "ParseInt"), strings.Contains(m[3], "ParseUint"):
			want = "a whole number"
		case strings.Contains(m[3], "ParseBool"):
			want = "true or false"
		case strings.Contains(m[3], "duration"):
			want = "a duration such as 90s, 10m or 2h"
		}
		return usageError{fmt.Errorf("%s %s takes %s, not %q (see: %s --help)", cmd.CommandPath(), m[2], want, m[1], cmd.CommandPath())}
	}
	if strings.HasPrefix(msg, "unknown flag") || strings.HasPrefix(msg, "unknown shorthand flag") {
		return usageError{fmt.Errorf("%s: %s (see: %s --help)", cmd.CommandPath(), msg, cmd.CommandPath())}
	}
	return usageError{fmt.Errorf("%s: %s", cmd.CommandPath(), msg)}
}

// isUsage reports whether err is wrong usage (exit 2).
func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue)
}

// refuseUnknownUnderHelp makes `odoo-backup nosuch --help` (and `odoo-backup
// service nosuch --help`) wrong usage like the same line without --help,
// where cobra shows the group's help and exits 0. The error it leaves
// behind, if any, is the command's.
func refuseUnknownUnderHelp(root *cobra.Command) *error {
	var refused error
	show := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if err := unknownUnderHelp(c, args); err != nil {
			refused = usageError{err}
			return
		}
		show(c, args)
	})
	return &refused
}

// unknownUnderHelp is the unknown command in a command line asking for the
// help of command group cmd, or nil.
func unknownUnderHelp(cmd *cobra.Command, args []string) error {
	if !cmd.HasSubCommands() {
		return nil
	}
	found, rest, err := cmd.Root().Find(args)
	if err != nil || found != cmd {
		return nil
	}
	flags := cmd.Flags()
	for i := 0; i < len(rest); i++ {
		arg := rest[i]
		var f *pflag.Flag
		switch {
		case arg == "--":
			return nil
		case strings.HasPrefix(arg, "--") && !strings.Contains(arg, "="):
			f = flags.Lookup(arg[2:])
		case strings.HasPrefix(arg, "-") && len(arg) == 2:
			f = flags.ShorthandLookup(arg[1:])
		case strings.HasPrefix(arg, "-"):
			continue
		default:
			return unknownCommand(cmd, arg)
		}
		if f != nil && f.NoOptDefVal == "" {
			i++ // the flag's value
		}
	}
	return nil
}
