// Package cli is the command-line layer shared by cmd/port-aws-exporter,
// cmd/demo and cmd/bench: the flags of the sync and event settings (where
// their defaults live, and nowhere else), each flag's environment variable,
// the log flags and the logger, and the sync's printed summary. Settings
// are parsed and validated here once and handed to internal/exporter as
// built values.
package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// envAnnotation marks a flag whose default comes from an environment variable.
const envAnnotation = "port-aws-exporter/env"

// BindEnv makes the environment variable env the default of flag name when
// the flag is not given on the command line (Lambda has no command line),
// and names the variable in the flag's help.
func BindEnv(f *pflag.FlagSet, name, env string) {
	if err := f.SetAnnotation(name, envAnnotation, []string{env}); err != nil {
		panic(fmt.Sprintf("bind %s to flag --%s: %v", env, name, err)) // a programming error: no such flag
	}
	f.Lookup(name).Usage += " [" + env + "]"
}

// EnvName is the environment variable bound to a flag, or "".
func EnvName(f *pflag.Flag) string {
	if names := f.Annotations[envAnnotation]; len(names) > 0 {
		return names[0]
	}
	return ""
}

// ApplyEnvironment sets every flag of cmd that was not given on the command
// line from its environment variable, read through viper, and parsed as the
// flag parses its value: a malformed value is an error naming the variable
// (viper's typed getters would read "four" as 0), and every malformed
// variable is reported at once. An empty variable counts as unset.
func ApplyEnvironment(cmd *cobra.Command) error {
	v := viper.New()
	flags := cmd.Flags()
	flags.VisitAll(func(f *pflag.Flag) {
		if env := EnvName(f); env != "" {
			_ = v.BindEnv(f.Name, env) // cannot fail with a key and a name
		}
	})
	var errs []error
	flags.VisitAll(func(f *pflag.Flag) {
		env := EnvName(f)
		if env == "" || f.Changed || !v.IsSet(f.Name) {
			return
		}
		value := v.GetString(f.Name)
		if err := f.Value.Set(value); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s=%q (--%s): %w", env, value, f.Name, err))
		}
	})
	return errors.Join(errs...)
}
