package cli

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/port-labs/port-aws-exporter/internal/controller"
)

// PrintSummary writes the end-of-sync table: one row per kind and region.
func PrintSummary(w io.Writer, r controller.Report, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	upserted, deleted := "UPSERTED", "DELETED"
	if dryRun {
		upserted, deleted = "TO UPSERT", "TO DELETE"
	}
	fmt.Fprintf(tw, "KIND\tREGION\tLISTED\tMAPPED\t%s\tFAILED\t%s\tKEPT\tTIME\tSTATUS\t\n", upserted, deleted)
	var total controller.ShardReport
	for _, s := range r.Shards {
		up, del := s.Upserted, s.Deleted
		if dryRun {
			up, del = 0, len(s.Plan.Deletes)
			for _, n := range s.Upserts {
				up += n
			}
		}
		status := "ok"
		if !s.OK() {
			status = "FAILED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\n", s.Shard.Kind, s.Shard.Region,
			s.Listed, s.Mapped, up, s.Failed, del, len(s.Withheld), s.Duration.Round(time.Millisecond), status)
		total.Listed += s.Listed
		total.Mapped += s.Mapped
		total.Upserted += up
		total.Failed += s.Failed
		total.Deleted += del
		total.Withheld = append(total.Withheld, s.Withheld...)
	}
	fmt.Fprintf(tw, "TOTAL\t\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\t\n", total.Listed, total.Mapped, total.Upserted,
		total.Failed, total.Deleted, len(total.Withheld), r.Duration.Round(time.Millisecond))
	tw.Flush()
	for _, s := range r.Shards {
		for _, e := range s.Errors {
			fmt.Fprintf(w, "error: %s: %s\n", s.Shard, e)
		}
	}
}

// PrintPlan writes a dry run's plan: upserts and deletes per blueprint.
func PrintPlan(w io.Writer, r controller.Report) {
	type counts struct{ upserts, deletes, kept int }
	byBlueprint := map[string]*counts{}
	get := func(bp string) *counts {
		if byBlueprint[bp] == nil {
			byBlueprint[bp] = &counts{}
		}
		return byBlueprint[bp]
	}
	for _, s := range r.Shards {
		for bp, n := range s.Upserts {
			get(bp).upserts += n
		}
		for _, d := range s.Plan.Deletes {
			get(d.Blueprint).deletes++
		}
		for _, k := range s.Plan.Withheld {
			get(k.Ref.Blueprint).kept++
		}
	}
	names := make([]string, 0, len(byBlueprint))
	for n := range byBlueprint {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "Plan (dry run, nothing written):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BLUEPRINT\tUPSERT\tDELETE\tKEEP (guarded)")
	for _, n := range names {
		c := byBlueprint[n]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", n, c.upserts, c.deletes, c.kept)
	}
	tw.Flush()
	for _, s := range r.Shards {
		for _, d := range s.Plan.Deletes {
			fmt.Fprintf(w, "  delete %s  (%s)\n", d, s.Shard)
		}
		for _, k := range s.Plan.Withheld {
			fmt.Fprintf(w, "  keep   %s  (%s: %s)\n", k.Ref, s.Shard, k.Reason)
		}
	}
}
