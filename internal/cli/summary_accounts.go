package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/port-labs/port-aws-exporter/internal/controller"
)

// AccountSummary is one account's part of a sync that read several (the
// config's aws block).
type AccountSummary struct {
	Account string `json:"account"`
	// Status is "ok" or "failed".
	Status string `json:"status"`
	// Error says why the account could not be read at all (its role could
	// not be assumed); "" when its shards ran, whatever their outcome.
	Error  string `json:"error,omitempty"`
	Shards int    `json:"shards"`
	Counts
}

// accountSummaries groups a report's shards by account, in the report's
// order (by account). An account every shard of which failed on the
// account itself (controller.AccountError) carries that one error.
func accountSummaries(r controller.Report, shards []ShardSummary) []AccountSummary {
	var out []AccountSummary
	index := map[string]int{}
	unread := map[string]int{}
	for i, sh := range shards {
		j, seen := index[sh.Account]
		if !seen {
			j = len(out)
			index[sh.Account] = j
			out = append(out, AccountSummary{Account: sh.Account, Status: "ok"})
		}
		a := &out[j]
		a.Shards++
		a.add(sh.Counts)
		if sh.Status != "ok" {
			a.Status = "failed"
		}
		var ae *controller.AccountError
		for _, err := range r.Shards[i].Errors {
			if errors.As(err, &ae) {
				unread[sh.Account]++
				if a.Error == "" {
					a.Error = ae.Err.Error()
				}
				break
			}
		}
	}
	for i := range out {
		if unread[out[i].Account] != out[i].Shards {
			out[i].Error = ""
		}
	}
	return out
}

// writeUnreadAccounts ends the table with one line per account that could
// not be read, saying why (the table itself repeats no error).
func (s Summary) writeUnreadAccounts(w io.Writer, color bool) {
	for _, a := range s.Accounts {
		if a.Error != "" {
			fmt.Fprintf(w, "%s account %s: not read, nothing deleted there: %s\n", paint(color, red, "FAILED"), a.Account, a.Error)
		}
	}
}
