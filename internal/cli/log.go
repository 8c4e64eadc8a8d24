package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/common/promslog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// levelValue is --log-level: promslog's level, as a flag.
type levelValue struct{ *promslog.Level }

func (levelValue) Type() string { return "level" }

func (l levelValue) Set(s string) error {
	if err := l.Level.Set(s); err != nil {
		return fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return nil
}

// LogFormats are what --log-format accepts: auto is text on a terminal
// and JSON otherwise (CloudWatch, Kubernetes).
var LogFormats = []string{"auto", "text", "json"}

type formatValue struct{ s *string }

func (formatValue) Type() string     { return "format" }
func (f formatValue) String() string { return *f.s }
func (f formatValue) Set(s string) error {
	s = strings.ToLower(s)
	if !slices.Contains(LogFormats, s) {
		return fmt.Errorf("%q: want %s", s, strings.Join(LogFormats, ", "))
	}
	*f.s = s
	return nil
}

// AddLogFlags adds --log-level and --log-format (with LOG_LEVEL and LOG_FORMAT).
func AddLogFlags(f *pflag.FlagSet) {
	level := promslog.NewLevel() // info
	f.Var(levelValue{level}, "log-level", "log level: debug, info, warn, error")
	format := "auto"
	f.Var(formatValue{&format}, "log-format", "log format: auto (text on a terminal, JSON otherwise), text, json")
	BindEnv(f, "log-level", "LOG_LEVEL")
	BindEnv(f, "log-format", "LOG_FORMAT")
}

// LogLevel is the level --log-level (or LOG_LEVEL) set.
func LogLevel(cmd *cobra.Command) string { return cmd.Flags().Lookup("log-level").Value.String() }

// NewLogger builds the process logger with promslog at the level of
// --log-level: text (logfmt) on a terminal, JSON otherwise, or as
// --log-format says. promslog writes durations as strings ("1.5s") in both.
func NewLogger(cmd *cobra.Command, w io.Writer) *slog.Logger {
	cfg := &promslog.Config{Writer: w, Format: promslog.NewFormat()}
	if lv, ok := cmd.Flags().Lookup("log-level").Value.(levelValue); ok {
		cfg.Level = lv.Level
	}
	format := cmd.Flags().Lookup("log-format").Value.String()
	if format == "text" || (format == "auto" && IsTerminal(w)) {
		_ = cfg.Format.Set("logfmt")
	} else {
		_ = cfg.Format.Set("json")
	}
	return promslog.New(cfg)
}

// IsTerminal is true when w is a terminal (or a writer standing for one,
// such as SwitchWriter).
func IsTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ Terminal() bool }); ok {
		return t.Terminal()
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// NewRoot is a root command with the log flags, whose flags not given take
// their environment variable before any subcommand runs.
func NewRoot(use, short, version string) *cobra.Command {
	root := &cobra.Command{
		Use:           use,
		Short:         short,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	AddLogFlags(root.PersistentFlags())
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return ApplyEnvironment(cmd) }
	return root
}
