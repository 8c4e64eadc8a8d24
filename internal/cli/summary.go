package cli

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
	"github.com/port-labs/port-aws-exporter/internal/target"
)

// SummarySchemaVersion versions the JSON summary: fields are only added
// within a version.
const SummarySchemaVersion = 1

// SummarySchema is the JSON Schema of `sync --summary json` (documented in
// docs/sync-output.md; a test validates the output against it).
//
//go:embed summary.schema.json
var SummarySchema []byte

// Counts are what a sync did (or, in a dry run, would do) to one shard or
// to all of them.
type Counts struct {
	// Listed resources read from AWS; Skipped of them the selector rejected.
	Listed  int `json:"listed"`
	Skipped int `json:"skipped"`
	// Mapped entities the mappings produced.
	Mapped int `json:"mapped"`
	// Upserted entities written (in a dry run: to write). New, Changed and
	// Unchanged split them by what Port held before, when Compared;
	// Upserted - New - Changed - Unchanged could not be compared.
	Upserted  int `json:"upserted"`
	New       int `json:"new"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	// Deleted stale entities (in a dry run: to delete); Kept stale
	// entities a guard withheld.
	Deleted int `json:"deleted"`
	Kept    int `json:"kept"`
	// Failed entities that could not be mapped, written or deleted.
	Failed int `json:"failed"`
}

func (c *Counts) add(o Counts) {
	c.Listed += o.Listed
	c.Skipped += o.Skipped
	c.Mapped += o.Mapped
	c.Upserted += o.Upserted
	c.New += o.New
	c.Changed += o.Changed
	c.Unchanged += o.Unchanged
	c.Deleted += o.Deleted
	c.Kept += o.Kept
	c.Failed += o.Failed
}

// ShardSummary is one shard's line of the summary.
type ShardSummary struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Kind    string `json:"kind"`
	// Status is "ok" or "failed".
	Status string `json:"status"`
	Counts
	DurationSeconds float64 `json:"durationSeconds"`
	// Errors of the shard (mapping, write, listing), at most MaxSummaryErrors.
	Errors     []string `json:"errors"`
	MoreErrors int      `json:"moreErrors"`
}

// Summary is the end of a sync, as the table prints it and as
// `--summary json` writes it.
type Summary struct {
	SchemaVersion int  `json:"schemaVersion"`
	DryRun        bool `json:"dryRun"`
	// Compared is true when new/changed/unchanged were counted against Port.
	Compared        bool           `json:"compared"`
	OK              bool           `json:"ok"`
	DurationSeconds float64        `json:"durationSeconds"`
	Shards          []ShardSummary `json:"shards"`
	Total           Counts         `json:"total"`
	// Accounts group the shards by account when the sync read several
	// (summary_accounts.go); absent for one account.
	Accounts []AccountSummary `json:"accounts,omitempty"`

	duration time.Duration
}

// MaxSummaryErrors bounds the errors one shard lists in the JSON summary.
const MaxSummaryErrors = 50

// NewSummary builds the summary of a run; cmp, when not nil, compared the
// upserts with Port.
func NewSummary(r controller.Report, cmp *target.Comparing, dryRun bool) Summary {
	s := Summary{SchemaVersion: SummarySchemaVersion, DryRun: dryRun, Compared: cmp != nil, OK: r.OK(),
		DurationSeconds: r.Duration.Seconds(), Shards: []ShardSummary{}, duration: r.Duration}
	for _, sh := range r.Shards {
		c := Counts{Listed: sh.Listed, Skipped: sh.Skipped, Mapped: sh.Mapped, Upserted: sh.Upserted,
			Deleted: sh.Deleted, Kept: len(sh.Withheld), Failed: sh.Failed}
		if dryRun {
			c.Deleted = len(sh.Plan.Deletes)
		}
		if cmp != nil {
			n := cmp.Counts(sh.Shard)
			c.New, c.Changed, c.Unchanged = n.New, n.Changed, n.Unchanged
		}
		status := "ok"
		if !sh.OK() {
			status = "failed"
		}
		ss := ShardSummary{Account: sh.Shard.AccountID, Region: sh.Shard.Region, Kind: sh.Shard.Kind, Status: status,
			Counts: c, DurationSeconds: sh.Duration.Seconds(), Errors: []string{}}
		for i, err := range sh.Errors {
			if i == MaxSummaryErrors {
				ss.MoreErrors = len(sh.Errors) - MaxSummaryErrors
				break
			}
			ss.Errors = append(ss.Errors, err.Error())
		}
		s.Shards = append(s.Shards, ss)
		s.Total.add(c)
	}
	if accts := accountSummaries(r, s.Shards); len(accts) > 1 || (len(accts) == 1 && accts[0].Error != "") {
		s.Accounts = accts
	}
	return s
}

// WriteJSON writes the summary as one indented JSON document.
func (s Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteTable writes the summary as a table, one row per shard and a total.
// Errors are not repeated here: each was logged once, on stderr, when it
// happened. color marks the status column.
func (s Summary) WriteTable(w io.Writer, color bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Several accounts: a first column names each row's account, and an
	// account that could not be read is one row (and one line below
	// saying why) instead of a failed row per shard.
	byAccount := len(s.Accounts) > 0
	unread := map[string]bool{}
	for _, a := range s.Accounts {
		unread[a.Account] = a.Error != ""
	}
	cols := []string{"KIND", "REGION", "LISTED", "SKIPPED", "MAPPED"}
	if s.Compared {
		cols = append(cols, "NEW", "CHANGED", "UNCHANGED")
	} else {
		cols = append(cols, "UPSERTED")
	}
	cols = append(cols, "DELETED", "KEPT", "FAILED", "TIME")
	if s.DryRun {
		for i, c := range cols {
			switch c {
			case "NEW", "CHANGED", "UPSERTED", "DELETED":
				cols[i] = "TO " + map[string]string{"NEW": "CREATE", "CHANGED": "CHANGE", "UPSERTED": "UPSERT", "DELETED": "DELETE"}[c]
			}
		}
	}
	// The table aligns right (numbers); kind and region are padded to read
	// left-aligned.
	kindW, regionW := len("TOTAL"), len("REGION")
	for _, sh := range s.Shards {
		kindW, regionW = max(kindW, len(sh.Kind)), max(regionW, len(sh.Region))
	}
	pad := func(v string, w int) string { return v + strings.Repeat(" ", w-len(v)) }
	cols[0], cols[1] = pad(cols[0], kindW), pad(cols[1], regionW)
	if byAccount {
		cols = append([]string{pad("ACCOUNT", 12)}, cols...)
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t STATUS")
	account := ""
	row := func(kind, region string, c Counts, d time.Duration, status string) {
		cells := []any{pad(kind, kindW), pad(region, regionW), c.Listed, c.Skipped, c.Mapped}
		if byAccount {
			cells = append([]any{pad(account, 12)}, cells...)
		}
		if s.Compared {
			cells = append(cells, c.New, c.Changed, c.Unchanged)
		} else {
			cells = append(cells, c.Upserted)
		}
		cells = append(cells, c.Deleted, c.Kept, c.Failed, d.Round(time.Millisecond))
		parts := make([]string, len(cells))
		for i, v := range cells {
			parts[i] = fmt.Sprint(v)
		}
		fmt.Fprintln(tw, strings.Join(parts, "\t")+"\t "+status)
	}
	for i, sh := range s.Shards {
		account = sh.Account
		if unread[sh.Account] {
			if i == 0 || s.Shards[i-1].Account != sh.Account {
				for _, a := range s.Accounts {
					if a.Account == sh.Account {
						row(fmt.Sprintf("(%d shard%s)", a.Shards, map[bool]string{true: "s"}[a.Shards != 1]), "", a.Counts, 0, paint(color, red, "FAILED"))
					}
				}
			}
			continue
		}
		status := "ok"
		if sh.Status != "ok" {
			status = paint(color, red, "FAILED")
		} else {
			status = paint(color, green, status)
		}
		row(sh.Kind, sh.Region, sh.Counts, time.Duration(sh.DurationSeconds*float64(time.Second)), status)
	}
	total := "ok"
	if !s.OK {
		total = paint(color, red, "FAILED")
	}
	account = ""
	row("TOTAL", "", s.Total, s.duration, total)
	tw.Flush()
	s.writeUnreadAccounts(w, color)
	if s.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was written.")
	}
}

// PrintSummary writes the table of a run without a comparison with Port
// (the demo's).
func PrintSummary(w io.Writer, r controller.Report, dryRun bool) {
	NewSummary(r, nil, dryRun).WriteTable(w, false)
}

// PrintDiff writes a dry run's plan against Port, per shard: "+ entity" to
// create, "~ entity: fields" to change, "= N unchanged", "- entity" to delete
// and "! entity (reason)" for a stale entity a guard keeps. Without a
// comparison (no Port), the upserts are listed as "+".
func PrintDiff(w io.Writer, r controller.Report, cmp *target.Comparing) {
	fmt.Fprintln(w, "Plan (dry run, nothing written):")
	for _, sh := range r.Shards {
		fmt.Fprintf(w, "%s %s:\n", sh.Shard.Kind, sh.Shard.Region)
		lines := 0
		if cmp != nil {
			unchanged := 0
			for _, ch := range cmp.Changes(sh.Shard) {
				switch ch.Change {
				case target.New:
					fmt.Fprintf(w, "  + %s\n", ch.Ref)
				case target.Changed:
					fmt.Fprintf(w, "  ~ %s: %s\n", ch.Ref, strings.Join(ch.Fields, ", "))
				case target.Unchanged:
					unchanged++
					continue
				default:
					fmt.Fprintf(w, "  ? %s (not compared: Port's entities could not be read)\n", ch.Ref)
				}
				lines++
			}
			if unchanged > 0 {
				fmt.Fprintf(w, "  = %d unchanged\n", unchanged)
				lines++
			}
		} else {
			for bp, n := range sh.Upserts {
				fmt.Fprintf(w, "  + %d to upsert in %s (not compared with Port)\n", n, bp)
				lines++
			}
		}
		for _, d := range sh.Plan.Deletes {
			fmt.Fprintf(w, "  - %s\n", d)
			lines++
		}
		for _, k := range sh.Plan.Withheld {
			fmt.Fprintf(w, "  ! %s kept (%s)\n", k.Ref, k.Reason)
			lines++
		}
		if lines == 0 {
			fmt.Fprintln(w, "  (nothing)")
		}
	}
	fmt.Fprintln(w)
}
