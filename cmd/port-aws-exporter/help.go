package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/credentials"
	"github.com/port-labs/port-aws-exporter/internal/lambdaruntime"
)

// Every command's --help ends with the environment variables it reads and
// what its exit status means; with cobra's Examples that makes a help page a
// user can act on. A command states them with document; help_test.go fails
// for a command that does not (so a new command must).

// Exit statuses, the same for every command.
const (
	// exitOK: the command did what it was asked (for checks: found nothing).
	exitOK = 0
	// exitFailed: the command ran and something failed, or a check found problems.
	exitFailed = 1
	// exitUsage: the command line, or a variable standing for a flag, is
	// invalid: an unknown command or flag, a missing or malformed value, a
	// setting out of range, an argument too many. Nothing was done.
	exitUsage = 2
	// exitDeadLetter (handle): the message is permanently unprocessable; the
	// queue would move it to the dead-letter queue.
	exitDeadLetter = 3
)

// exitStatus is one line of a command's "Exit status" section.
type exitStatus struct {
	code    int
	meaning string
}

// usageStatus is exitUsage's line, the same in every command.
var usageStatus = exitStatus{exitUsage, "invalid command line or flag variable (unknown flag, bad value, setting out of range); nothing was done"}

// envNone declares that a command reads no environment variable besides its flags'.
var envNone = []string{}

// The variables commands read besides their flags' (a flag's own variable is
// listed from the flag). Each has one description, used by every command.
var (
	envConfig = []string{"CONFIG_URL", "BUCKET_NAME", "CONFIG_JSON_FILE_KEY"}
	envAWS    = []string{"AWS_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL"}
	envPort   = []string{credentials.EnvClientID, credentials.EnvClientSecret, credentials.EnvSecretARN, "PORT_API_URL"}
)

var envDescriptions = map[string]string{
	"CONFIG_URL":                        "where the config is when --config is not given: a path or s3://bucket/key",
	"BUCKET_NAME":                       "with CONFIG_JSON_FILE_KEY: the config is s3://BUCKET_NAME/CONFIG_JSON_FILE_KEY (Port's exporter's names)",
	"CONFIG_JSON_FILE_KEY":              "the key of the config in BUCKET_NAME",
	"AWS_REGION":                        "the AWS region of the SDK, and of config entries that name none",
	"AWS_PROFILE":                       "the shared config profile (SSO, roles); the SDK's default credential chain applies",
	"AWS_ACCESS_KEY_ID":                 "with AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN): static AWS credentials, first in the SDK's chain",
	"AWS_ENDPOINT_URL":                  "another endpoint for every AWS service; AWS_ENDPOINT_URL_<SERVICE> (e.g. AWS_ENDPOINT_URL_CLOUDCONTROL) for one",
	credentials.EnvClientID:             "the Port client id (with " + credentials.EnvClientSecret + ")",
	credentials.EnvClientSecret:         "the Port client secret; never logged",
	credentials.EnvSecretARN:            "instead of the two above: a Secrets Manager secret holding {\"id\": ..., \"clientSecret\": ...}",
	"PORT_API_URL":                      "Port's API (default https://api.getport.io; https://api.us.getport.io for US organizations)",
	"AWS_LAMBDA_RUNTIME_API":            "set by AWS Lambda: the binary then runs this command when given none",
	lambdaruntime.EnvQueueURL:           "the events queue: where the scheduled full sync sends its shard messages, and verifications go",
	lambdaruntime.EnvDeadLetterQueueURL: "the dead-letter queue (default: the events queue's RedrivePolicy)",
	lambdaruntime.EnvContinuationStore:  "s3://bucket/prefix: where a shard too big for one invocation keeps its run to continue in the next (unset: each shard must finish in one)",
	"POD_NAME":                          "the name this replica holds the sync lease under (default: the host name)",
	"NO_COLOR":                          "set (to anything): no colors in the progress and the summary",
	"TERM":                              "dumb: no colors and no redrawn progress",
}

// commandDoc is what document stores on a command (in its annotations, so
// that it travels with the command).
type commandDoc struct {
	env  []string
	exit []exitStatus
}

const (
	envAnnotation  = "port-aws-exporter/help-env"
	exitAnnotation = "port-aws-exporter/help-exit"
)

func setDoc(cmd *cobra.Command, d commandDoc) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[envAnnotation] = strings.Join(append([]string{"env"}, d.env...), "\n")
	var lines []string
	for _, e := range d.exit {
		lines = append(lines, fmt.Sprintf("%d\t%s", e.code, e.meaning))
	}
	cmd.Annotations[exitAnnotation] = strings.Join(lines, "\n")
}

// docOf is what document stored on cmd; nil when nothing.
func docOf(cmd *cobra.Command) *commandDoc {
	env, ok := cmd.Annotations[envAnnotation]
	if !ok {
		return nil
	}
	d := &commandDoc{env: strings.Split(env, "\n")[1:]}
	for _, line := range strings.Split(cmd.Annotations[exitAnnotation], "\n") {
		var e exitStatus
		code, meaning, ok := strings.Cut(line, "\t")
		if _, err := fmt.Sscan(code, &e.code); ok && err == nil {
			e.meaning = meaning
			d.exit = append(d.exit, e)
		}
	}
	return d
}

// document gives cmd its examples (one command per line; "#" comments are
// kept), the variables it reads besides its flags' (envNone for none) and
// its exit statuses (usageStatus is added to commands that take flags or
// arguments).
func document(cmd *cobra.Command, examples string, env []string, exits ...exitStatus) {
	cmd.Example = indent(strings.TrimSpace(examples))
	setDoc(cmd, commandDoc{env: env, exit: exits})
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "  " + strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}

// installHelp makes the help of every command of root end with its
// environment and exit status, turns command-line mistakes into exitUsage,
// and makes each command group refuse an unknown subcommand. It runs once
// the tree is complete.
func installHelp(root *cobra.Command) {
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		defaultHelp(c, args)
		writeEnvAndExit(c.OutOrStdout(), c, docOf(c))
	})
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			groupCommand(c)
		} else if args := c.Args; args != nil {
			c.Args = func(cmd *cobra.Command, a []string) error {
				if err := args(cmd, a); err != nil {
					return usageError(err)
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// groupCommand makes a command that only holds subcommands print its help
// when called alone, and refuse an unknown subcommand (cobra would print the
// help and exit 0 for `rules tset`). Its examples are its subcommands' first.
func groupCommand(c *cobra.Command) {
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's own default for unknown commands
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError(errors.New(msg + " (see " + cmd.CommandPath() + " --help)"))
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	if c.Example == "" {
		var lines []string
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if first, _, _ := strings.Cut(sub.Example, "\n"); first != "" {
				lines = append(lines, first)
			}
		}
		c.Example = strings.Join(lines, "\n")
	}
	if docOf(c) == nil {
		setDoc(c, commandDoc{env: envNone, exit: []exitStatus{
			{exitOK, "the help was printed"},
			{exitUsage, "unknown subcommand"},
		}})
	}
}

// flagEnv is the flag-bound variables of cmd (its own flags and those it
// inherits), by variable name.
func flagEnv(cmd *cobra.Command) map[string]string {
	out := map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if env := cli.EnvName(f); env != "" && !f.Hidden && f.Deprecated == "" {
			out[env] = "default of --" + f.Name
		}
	})
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) {
		if env := cli.EnvName(f); env != "" && !f.Hidden && f.Deprecated == "" {
			out[env] = "default of --" + f.Name
		}
	})
	return out
}

// writeEnvAndExit writes the "Environment" and "Exit status" sections.
func writeEnvAndExit(w io.Writer, cmd *cobra.Command, doc *commandDoc) {
	if doc == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nEnvironment:")
	env := flagEnv(cmd)
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	listed := map[string]bool{}
	for _, name := range doc.env {
		if !listed[name] {
			fmt.Fprintf(tw, "  %s\t%s\n", name, envDescriptions[name])
			listed[name] = true
		}
	}
	for _, name := range names {
		if !listed[name] {
			fmt.Fprintf(tw, "  %s\t%s\n", name, env[name])
			listed[name] = true
		}
	}
	if len(listed) == 0 {
		fmt.Fprintln(tw, "  none")
	}
	fmt.Fprintln(tw, "\nExit status:")
	exits := slices.Clone(doc.exit)
	if takesInput(cmd) && !slices.ContainsFunc(exits, func(e exitStatus) bool { return e.code == exitUsage }) {
		exits = append(exits, usageStatus)
	}
	slices.SortStableFunc(exits, func(a, b exitStatus) int { return a.code - b.code })
	for _, e := range exits {
		fmt.Fprintf(tw, "  %d\t%s\n", e.code, e.meaning)
	}
	_ = tw.Flush()
}

// takesInput is true when a command has anything to get wrong on its command
// line: a flag of its own (help aside) or an inherited one.
func takesInput(cmd *cobra.Command) bool {
	n := 0
	count := func(f *pflag.Flag) {
		if f.Name != "help" {
			n++
		}
	}
	cmd.LocalFlags().VisitAll(count)
	cmd.InheritedFlags().VisitAll(count)
	return n > 0 || cmd.Args != nil
}

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a mistake of the command line (exitUsage).
func usageError(err error) error {
	var e *exitError
	if err == nil || errors.As(err, &e) {
		return err
	}
	return &exitError{code: exitUsage, err: err}
}

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitFailed
}

// concat joins variable lists.
func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// documentCompletion documents cobra's completion commands (bash, zsh, fish,
// powershell), whose own help says where to install the script.
func documentCompletion(completion *cobra.Command) {
	for _, shell := range completion.Commands() {
		document(shell, "port-aws-exporter completion "+shell.Name()+" > port-aws-exporter."+shell.Name(), envNone,
			exitStatus{exitOK, "the script was printed"})
	}
}
