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
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// commandConstructors is filled by each command file's init, so that command
// groups live in their own files and can be added without touching this one.
var commandConstructors []func() *cobra.Command

func registerCommand(f func() *cobra.Command) { commandConstructors = append(commandConstructors, f) }

func newRootCommand() *cobra.Command {
	// Before any command runs, flags not given take their environment
	// variable (Lambda has no command line).
	root := cli.NewRoot("port-aws-exporter", "Keep Port's software catalog true to what runs in AWS", version)
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
