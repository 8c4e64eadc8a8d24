// Command port-aws-exporter keeps Port's software catalog in line with AWS.
// One binary serves as CLI, long-running service and AWS Lambda bootstrap.
// It links no test harness: the demo and the benchmarks are cmd/demo and
// cmd/bench.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/port-labs/port-aws-exporter/internal/cli"
	"github.com/port-labs/port-aws-exporter/internal/version"
)

// commandConstructors is filled by each command file's init, so that command
// groups live in their own files and can be added without touching this one.
var commandConstructors []func() *cobra.Command

func registerCommand(f func() *cobra.Command) { commandConstructors = append(commandConstructors, f) }

func newRootCommand() *cobra.Command {
	info := version.Get()
	root := &cobra.Command{
		Use:   "port-aws-exporter",
		Short: "Keep Port's software catalog true to what runs in AWS",
		// --version: "port-aws-exporter version v1.2.3 (commit ..., date ..., go1.26 linux/arm64)".
		// No SetVersionTemplate: a text/template keeps the linker from
		// dropping unused methods, which made the binary half again as large.
		Version:       info.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// Before any command runs, flags not given take their environment
		// variable (Lambda has no command line). The log flags are the
		// commands' own (those that log): a flag that does nothing is not shown.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := cli.ApplyEnvironment(cmd); err != nil {
				return usageError(err)
			}
			// cobra checks these after this hook, with plain errors: check
			// them first so that they exit with exitUsage.
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return usageError(err)
			}
			return usageError(cmd.ValidateFlagGroups())
		},
	}
	for _, f := range commandConstructors {
		root.AddCommand(f())
	}
	document(root, `
		port-aws-exporter init --kinds lambda-function,s3-bucket --dir ./port
		port-aws-exporter sync --config ./port/config.json --dry-run
		port-aws-exporter version`, envNone,
		exitStatus{exitOK, "done (each command's help says what else its status means)"},
		exitStatus{exitFailed, "the command failed, or a check found problems"},
		exitStatus{exitUsage, "unknown command or flag, or an invalid value"})
	// cobra adds help and completion when the command runs; add them now so
	// that they are documented like the rest.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "completion":
			documentCompletion(c)
		case "help":
			document(c, "port-aws-exporter help sync", envNone, exitStatus{exitOK, "the help was printed"})
		}
	}
	installHelp(root)
	return root
}

func main() {
	if lambdaRuntimeDetected() {
		os.Args = append([]string{os.Args[0], "lambda"}, os.Args[1:]...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(exitCode(err))
	}
}

// lambdaRuntimeDetected is true when the binary runs as a Lambda bootstrap with no subcommand.
func lambdaRuntimeDetected() bool {
	return os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" && len(os.Args) == 1
}
