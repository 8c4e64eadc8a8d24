package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// One meaning for -o/--output in every command: an output format, from a
// closed list. A file to write is --out-file. help_test.go fails for any -o
// or --output flag that is not an outputFormat.

// outputFormat is the value of -o/--output: one of formats.
type outputFormat struct {
	value   string
	formats []string
	// legacyFile, when set, takes a value that is no format but a file name
	// as the file of the old `-o FILE` spelling (rules generate), noting it
	// in legacyUsed.
	legacyFile *string
	legacyUsed bool
}

// newOutputFormat is a format flag value defaulting to formats[0].
func newOutputFormat(formats ...string) *outputFormat {
	return &outputFormat{value: formats[0], formats: formats}
}

func (o *outputFormat) String() string { return o.value }
func (o *outputFormat) Type() string   { return "format" }

func (o *outputFormat) Set(s string) error {
	if f := strings.ToLower(strings.TrimSpace(s)); slices.Contains(o.formats, f) {
		o.value = f
		return nil
	}
	// Only what looks like a file name (rules.yaml, out/rules): a mistyped
	// format must stay an error, not become a file.
	if o.legacyFile != nil && strings.ContainsAny(s, "./\\") {
		*o.legacyFile, o.legacyUsed = s, true
		return nil
	}
	return fmt.Errorf("want %s", strings.Join(o.formats, " or "))
}

// bind adds the value to cmd as -o/--output.
func (o *outputFormat) bind(cmd *cobra.Command, what string) {
	cmd.Flags().VarP(o, "output", "o", what+": "+strings.Join(o.formats, " or "))
}

// outFileFlag adds --out-file, the file a command writes instead of standard
// output, and keeps an older flag name working for one release with a
// deprecation warning (pflag prints it when the flag is used).
func outFileFlag(cmd *cobra.Command, target *string, usage string, oldNames ...string) {
	cmd.Flags().StringVar(target, "out-file", "", usage)
	for _, old := range oldNames {
		cmd.Flags().StringVar(target, old, "", usage)
		_ = cmd.Flags().MarkDeprecated(old, "use --out-file; --"+old+" goes in the next release")
	}
}
