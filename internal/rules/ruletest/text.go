package ruletest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	ev := r.Event
	fmt.Fprintf(&b, "Event: %s", orDash(ev.DetailType))
	if ev.Source != "" {
		fmt.Fprintf(&b, " from %s", ev.Source)
	}
	if ev.EventName != "" {
		fmt.Fprintf(&b, " (%s)", ev.EventName)
	}
	if ev.Region != "" || ev.Account != "" {
		fmt.Fprintf(&b, ", region %s, account %s", orDash(ev.Region), orDash(ev.Account))
	}
	b.WriteString("\n")
	if ev.Wrapped {
		b.WriteString("  a bare CloudTrail record, wrapped as EventBridge delivers it\n")
	}
	if ev.ErrorCode != "" {
		fmt.Fprintf(&b, "  the call FAILED: errorCode %s\n", ev.ErrorCode)
	}
	fmt.Fprintf(&b, "Rules: %d read, %d matched\n", r.RulesRead, len(r.Matches))
	if len(r.Matches) == 0 {
		b.WriteString("\nNo rule matched this event: nothing would reach the queue.\n")
	}
	for _, m := range r.Matches {
		fmt.Fprintf(&b, "\nMATCH  %s\n", m.Rule)
		for _, warn := range m.Warnings {
			fmt.Fprintf(&b, "  warning: %s\n", warn)
		}
		for _, t := range m.Targets {
			fmt.Fprintf(&b, "  target %s", t.ID)
			if t.Arn != "" {
				fmt.Fprintf(&b, " → %s", t.Arn)
			}
			// The message exactly as the target receives it: minified
			// when the template is JSON, so it stays on one line.
			fmt.Fprintf(&b, "\n    message (%d bytes, exactly as sent):\n", len(t.Message))
			b.WriteString(indent(t.Message, "      "))
			if t.Decision != nil {
				b.WriteString("    evaluated:\n")
				fmt.Fprintf(&b, "      resource_type  %s\n", t.Decision.ResourceType)
				fmt.Fprintf(&b, "      region         %s\n", t.Decision.Region)
				fmt.Fprintf(&b, "      action         %s\n", t.Decision.Action)
				fmt.Fprintf(&b, "      identifier     %s\n", t.Decision.Identifier)
				// The extension's fields, only when the message has them, so
				// that a report on the seed's contract reads as before.
				if t.Decision.ResourceIdentifier != "" {
					fmt.Fprintf(&b, "      resource_identifier  %s\n", t.Decision.ResourceIdentifier)
				}
				if t.Decision.EntityIdentifier != "" {
					fmt.Fprintf(&b, "      entity_identifier    %s\n", t.Decision.EntityIdentifier)
				}
			}
			if t.Injection != nil {
				fmt.Fprintf(&b, "    error: %s\n", t.Injection)
			}
			if t.Error != "" {
				fmt.Fprintf(&b, "    error: %s\n", t.Error)
			}
			for _, warn := range t.Warnings {
				fmt.Fprintf(&b, "    warning: %s\n", warn)
			}
			for _, note := range t.Notes {
				fmt.Fprintf(&b, "    note: %s\n", note)
			}
			if len(t.Exporter) > 0 {
				b.WriteString("    exporter (its real plan, if this exporter wrote the entities named):\n")
				for _, p := range t.Exporter {
					fmt.Fprintf(&b, "      if %s\n", p.Summary())
				}
			}
		}
	}
	if len(r.NotMatched) > 0 {
		fmt.Fprintf(&b, "\nNot matched: %s\n", strings.Join(r.NotMatched, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
