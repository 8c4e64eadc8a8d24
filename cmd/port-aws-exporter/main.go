// Command port-aws-exporter keeps Port's software catalog in line with AWS.
// One binary serves as CLI, long-running service and AWS Lambda bootstrap.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// commandConstructors is filled by each command file's init, so that command
// groups live in their own files and can be added without touching this one.
var commandConstructors []func() *cobra.Command

func registerCommand(f func() *cobra.Command) { commandConstructors = append(commandConstructors, f) }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "port-aws-exporter",
		Short:         "Keep Port's software catalog true to what runs in AWS",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn, error [LOG_LEVEL]")
	root.PersistentFlags().String("log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text, json [LOG_FORMAT]")
	bindEnv(root.PersistentFlags(), "log-level", "LOG_LEVEL")
	bindEnv(root.PersistentFlags(), "log-format", "LOG_FORMAT")
	// Before any command runs: flags not given take their environment
	// variable (Lambda has no command line), then both are checked.
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyEnvironment(cmd); err != nil {
			return err
		}
		return checkLogFlags(cmd)
	}
	for _, f := range commandConstructors {
		root.AddCommand(f())
	}
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

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return 1
}
